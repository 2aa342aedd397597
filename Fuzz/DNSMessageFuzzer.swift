// libFuzzer entry point for the DNS message parser: every input must parse or be refused, never trap.
// Built and run by Scripts/fuzz-dns (swiftc -sanitize=fuzzer,address with the codec's sources).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNSMessage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let message = try? DNSMessage(decoding: bytes) {
        // A parsed message must encode again (names from the wire are at most 255 bytes) and describe itself.
        _ = try? message.encoded()
        _ = message.rcode.description
        _ = message.flags.names
        for record in message.answers + message.authorities + message.additionals {
            _ = record.type.description
        }
    }
    return 0
}
