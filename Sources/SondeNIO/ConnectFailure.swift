public import NIOCore
import NIOPosix
public import SondeCore

#if canImport(Glibc)
    import Glibc
#endif

/// Why a NIO connect failed, in a probe's words: nothing listening, no answer in time, no route, or another errno.
public struct ConnectFailure: Error, Sendable {
    public enum Kind: Sendable {
        case refused, timeout, unreachable, error
    }

    public var kind: Kind
    /// One line for the report: `connection refused by 10.0.0.7:443`.
    public var message: String

    /// Reads `error` from `ClientBootstrap.connect` to `address`:`port`.
    public init(_ error: any Error, address: IPAddress, port: UInt16) {
        let endpoint = address.endpoint(port: port)
        if let error = error as? ChannelError, case .connectTimeout = error {
            self.init(kind: .timeout, message: "no answer from \(endpoint) within the connect timeout (filtered?)")
            return
        }
        let code =
            (error as? IOError)?.errnoCode ?? (error as? NIOConnectionError)?.connectionErrors.first.flatMap { ($0.error as? IOError)?.errnoCode }
        switch code {
        case ECONNREFUSED?: self.init(kind: .refused, message: "connection refused by \(endpoint)")
        case EHOSTUNREACH?, ENETUNREACH?:
            self.init(kind: .unreachable, message: "cannot reach \(endpoint): \(ErrorNumber.message(code ?? 0))")
        case let code?:
            self.init(kind: .error, message: "cannot connect to \(endpoint): \(ErrorNumber.message(code)) (\(ErrorNumber.name(code)))")
        case nil: self.init(kind: .error, message: "cannot connect to \(endpoint): \(error)")
        }
    }

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
}
