import CCompression

/// A response body's content coding, decoded as the body arrives: `gzip`, `deflate` (zlib-wrapped or raw) and `br`.
enum ContentCoding: String, Sendable, CaseIterable {
    case gzip
    case deflate
    case br
    /// The body as sent.
    case identity

    /// A `Content-Encoding` value (`x-gzip` is gzip); `nil` when Sonde cannot decode it.
    init?(contentEncoding: String) {
        switch contentEncoding.lowercased() {
        case "gzip", "x-gzip": self = .gzip
        case "deflate": self = .deflate
        case "br": self = .br
        case "identity", "": self = .identity
        default: return nil
        }
    }
}

/// Decodes one body, in bounded steps: every chunk of output is handed on as it is made (at most 16 KiB at a time), so
/// a caller that counts can stop a decompression bomb after its limit, having held no more than one chunk.
final class HTTPBodyDecoder {
    struct Failure: Error {
        var message: String
    }

    let coding: ContentCoding
    private let decoder: OpaquePointer
    private var chunk = [UInt8](repeating: 0, count: 16_384)

    /// `nil` for `identity`.
    init?(_ coding: ContentCoding) throws(Failure) {
        let algorithm: sonde_decode_algorithm
        switch coding {
        case .gzip: algorithm = SONDE_DECODE_GZIP
        case .deflate: algorithm = SONDE_DECODE_DEFLATE
        case .br: algorithm = SONDE_DECODE_BROTLI
        case .identity: return nil
        }
        self.coding = coding
        guard let decoder = sonde_decoder_create(algorithm) else { throw Failure(message: "out of memory for the \(coding) decoder") }
        self.decoder = decoder
    }

    deinit { sonde_decoder_destroy(decoder) }

    /// Decodes `bytes`, handing each piece of output to `output`; stops when `output` returns false (a limit).
    func decode(_ bytes: some Collection<UInt8>, output: (UnsafeBufferPointer<UInt8>) -> Bool) throws(Failure) {
        let result: Failure? = bytes.withContiguousStorageIfAvailable { input in step(input, output: output) } ?? step(Array(bytes), output: output)
        if let result { throw result }
    }

    private func step(_ input: [UInt8], output: (UnsafeBufferPointer<UInt8>) -> Bool) -> Failure? {
        input.withUnsafeBufferPointer { step($0, output: output) }
    }

    private func step(_ input: UnsafeBufferPointer<UInt8>, output: (UnsafeBufferPointer<UInt8>) -> Bool) -> Failure? {
        var offset = 0
        while true {
            var consumed = 0
            var produced = 0
            let status = chunk.withUnsafeMutableBufferPointer { room in
                sonde_decoder_step(
                    decoder, input.baseAddress.map { $0 + offset }, input.count - offset, &consumed, room.baseAddress, room.count, &produced)
            }
            offset += consumed
            if produced > 0 {
                let stop = chunk.withUnsafeBufferPointer { !output(UnsafeBufferPointer(rebasing: $0.prefix(produced))) }
                if stop { return nil }
            }
            if status == SONDE_DECODE_ERROR {
                return Failure(message: "the body is not valid \(coding): \(String(cString: sonde_decoder_error(decoder)))")
            }
            // Output room full: go on; otherwise done once the input is used up.
            if status != SONDE_DECODE_FULL && offset >= input.count { return nil }
            // Always progress: a decoder that takes and gives nothing would loop.
            if consumed == 0 && produced == 0 { return Failure(message: "the \(coding) decoder is stuck") }
        }
    }

    /// After the last byte: a stream that did not reach its end is truncated (an empty body included).
    func finish() throws(Failure) {
        guard sonde_decoder_finished(decoder) != 0 else { throw Failure(message: "the body ends before the end of its \(coding) stream") }
    }
}
