/// A target written `HOST:PORT`, or `[IPv6]:PORT` (a zone may follow the address inside the brackets): the TCP
/// probe's target, an external probe's `hostPort` target.
public struct HostPort: Sendable, Equatable {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    public init(_ text: String) throws(ProbeError) {
        let malformed = ProbeError(.invalidTarget, "invalid target '\(text)': expected HOST:PORT or [IPv6]:PORT")
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { throw malformed }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                if text.filter({ $0 == ":" }).count > 1 {
                    throw ProbeError(.invalidTarget, "invalid target '\(text)': write an IPv6 address in brackets, e.g. [fd00::1]:443")
                }
                throw malformed
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw malformed }
        guard let port = Int(portPart), (1...65535).contains(port) else {
            throw ProbeError(.invalidTarget, "invalid port '\(portPart)' in '\(text)': expected 1 to 65535")
        }
        self.host = String(hostPart)
        self.port = UInt16(port)
    }
}
