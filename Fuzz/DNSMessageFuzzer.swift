// libFuzzer entry point for the DNS message parser: every input must parse or be refused, never trap, and what
// parses must survive the round trip through the encoder unchanged.
// Built and run by Scripts/fuzz-dns (swiftc -sanitize=fuzzer,address with the codec's sources).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSMessage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let message = try? DNSMessage(decoding: bytes) {
        // A parsed message must encode again (names from the wire are at most 255 bytes), decode to itself, and
        // describe itself. A failure here is a crash, which libFuzzer reports with the input.
        guard let encoded = try? message.encoded() else { fatalError("a message that decoded did not encode again") }
        guard let again = try? DNSMessage(decoding: encoded) else { fatalError("the re-encoded message did not decode") }
        guard again == message else { fatalError("decode(encode(message)) differs from message") }
        _ = message.rcode.description
        _ = message.flags.names
        for record in message.answers + message.authorities + message.additionals {
            _ = record.type.description
        }
    }
    return 0
}
