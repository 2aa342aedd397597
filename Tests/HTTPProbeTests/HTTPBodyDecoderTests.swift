import CCompression
import Testing

@testable import HTTPProbe

/// The body decoders on streams made by other encoders (gzip(1), Python's zlib, brotli(1); the bytes below), fed whole
/// and one byte at a time, so every chunk boundary of a real body is crossed.
@Suite("HTTP body decoding")
struct HTTPBodyDecoderTests {
    /// `printf 'hello\n' | gzip -n -9` and `printf 'world\n' | gzip -n -9`.
    static let helloGzip: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00, 0x20, 0x30, 0x3a, 0x36,
        0x06, 0x00, 0x00, 0x00,
    ]
    static let worldGzip: [UInt8] = [
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x2b, 0xcf, 0x2f, 0xca, 0x49, 0xe1, 0x02, 0x00, 0xa8, 0x61, 0x38, 0xdd,
        0x06, 0x00, 0x00, 0x00,
    ]
    /// "hello sonde\n": `zlib.compress(data, 9)`, the same raw (`wbits=-15`), and `brotli -c`.
    static let wrapped: [UInt8] = [
        0x78, 0xda, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x28, 0xce, 0xcf, 0x4b, 0x49, 0xe5, 0x02, 0x00, 0x1e, 0x34, 0x04, 0x58,
    ]
    static let raw: [UInt8] = [0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0x28, 0xce, 0xcf, 0x4b, 0x49, 0xe5, 0x02, 0x00]
    static let brotli: [UInt8] = [0x8f, 0x05, 0x80, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x73, 0x6f, 0x6e, 0x64, 0x65, 0x0a, 0x03]

    /// Decodes `input` in pieces of `piece` bytes; the text, or the failure's message.
    static func decode(_ coding: ContentCoding, _ input: [UInt8], piece: Int) -> (text: String, failure: String?) {
        var output: [UInt8] = []
        do throws(HTTPBodyDecoder.Failure) {
            guard let decoder = try HTTPBodyDecoder(coding) else { return (String(decoding: input, as: UTF8.self), nil) }
            var offset = 0
            while offset < input.count {
                try decoder.decode(input[offset..<min(offset + piece, input.count)]) { bytes in
                    output += bytes
                    return true
                }
                offset += piece
            }
            try decoder.finish()
            return (String(decoding: output, as: UTF8.self), nil)
        } catch {
            return (String(decoding: output, as: UTF8.self), error.message)
        }
    }

    @Test(
        "each coding, whole and a byte at a time; deflate wrapped (RFC 1950) or raw (RFC 1951)",
        arguments: [
            (ContentCoding.gzip, helloGzip, "hello\n"), (.deflate, wrapped, "hello sonde\n"), (.deflate, raw, "hello sonde\n"),
            (.br, brotli, "hello sonde\n"),
        ])
    func decodes(coding: ContentCoding, input: [UInt8], text: String) {
        for piece in [input.count, 1, 3] {
            let result = Self.decode(coding, input, piece: piece)
            #expect(result.text == text && result.failure == nil, "\(coding) in pieces of \(piece): \(result)")
        }
    }

    @Test("gzip of several members is read to the last (RFC 1952); bytes after a deflate or br stream are an error")
    func members() {
        for piece in [60, 1] {
            let result = Self.decode(.gzip, Self.helloGzip + Self.worldGzip, piece: piece)
            #expect(result.text == "hello\nworld\n" && result.failure == nil, "\(result)")
        }
        #expect(Self.decode(.deflate, Self.wrapped + [0x41], piece: 100).failure?.contains("after the end") == true)
        #expect(Self.decode(.br, Self.brotli + [0x41], piece: 100).failure?.contains("after the end") == true)
    }

    @Test("a stream cut short, an empty body and bytes of another coding each fail, naming the coding")
    func failures() {
        let cut = Self.decode(.gzip, Array(Self.helloGzip.dropLast(4)), piece: 5)
        #expect(cut.failure == "the body ends before the end of its gzip stream", "\(cut)")
        #expect(Self.decode(.br, [], piece: 1).failure == "the body ends before the end of its br stream")
        let plain = Self.decode(.gzip, Array("hello\n".utf8), piece: 100)
        #expect(plain.failure?.hasPrefix("the body is not valid gzip: ") == true, "\(plain)")
        #expect(Self.decode(.br, Array("hello\n".utf8), piece: 100).failure != nil)
        #expect(Self.decode(.deflate, Array("hello, not deflate at all\n".utf8), piece: 2).failure != nil)
    }

    @Test("a decompression bomb: output comes in pieces of at most 16 KiB, and stops when the caller's count says so")
    func bomb() throws {
        // 64 MiB of zeros, compressed by zlib itself: about 64 KiB.
        let zeros = [UInt8](repeating: 0, count: 64 << 20)
        var compressed = [UInt8](repeating: 0, count: Int(compressBound(uLong(zeros.count))))
        var length = uLongf(compressed.count)
        #expect(compress2(&compressed, &length, zeros, uLong(zeros.count), 9) == Z_OK)
        compressed.removeLast(compressed.count - Int(length))
        #expect(compressed.count < 100_000)

        let decoder = try #require(try HTTPBodyDecoder(.deflate))
        var total = 0
        var largest = 0
        try decoder.decode(compressed) { bytes in
            total += bytes.count
            largest = max(largest, bytes.count)
            return total <= 1 << 20
        }
        #expect(largest <= 16_384 && total > 1 << 20 && total <= (1 << 20) + 16_384, "\(total) bytes in pieces of at most \(largest)")
    }

    @Test("Accept-Encoding as blackbox reads it: the best-rated entry naming the coding or * decides; q=0 refuses")
    func acceptEncoding() {
        #expect(HTTPPlan.accepts("gzip", "gzip"))
        #expect(HTTPPlan.accepts("br;q=1.0, gzip;q=0.5", "gzip"))
        #expect(!HTTPPlan.accepts("br", "gzip"))
        #expect(!HTTPPlan.accepts("gzip;q=0", "gzip"))
        #expect(HTTPPlan.accepts("*", "br"))
        #expect(HTTPPlan.accepts("gzip;q=0, *", "gzip"), "as blackbox: * ranks above gzip;q=0 and decides")
        #expect(!HTTPPlan.accepts("*;q=0", "deflate"))
    }
}
