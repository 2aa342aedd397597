import NIOCore
import NIOPosix
internal import SondeCore

#if canImport(Glibc)
    import Glibc
#endif

/// Why an exchange with an agent failed, in words that say where to look.
public struct AgentClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Nothing accepted the connection: no sidecar there, refused, or no route.
        case unreachable
        /// The agent took too long to accept, to answer or to finish.
        case timeout
        /// Something answered, but not a Sonde agent's HTTP.
        case badResponse
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    init(connecting error: any Error, agent: AgentAddress, timeout: Duration) {
        if let error = error as? ChannelError, case .connectTimeout = error {
            self.init(.timeout, "\(agent) did not accept a connection within \(DecimalFormat.shortest(timeout.inSeconds)) s")
            return
        }
        let errno: Int32? =
            if let error = error as? IOError { error.errnoCode } else if let error = error as? NIOConnectionError {
                (error.connectionErrors.first?.error as? IOError)?.errnoCode
            } else { nil }
        switch errno {
        case ECONNREFUSED?:
            self.init(.unreachable, "\(agent) refused the connection: is sonde serve running there, on port \(agent.port)?")
        case let code?:
            self.init(.unreachable, "cannot connect to \(agent): \(ErrorNumber.message(code))")
        case nil:
            if let error = error as? NIOConnectionError, error.dnsAError != nil || error.dnsAAAAError != nil {
                self.init(.unreachable, "cannot resolve \(agent.host)")
            } else {
                self.init(.unreachable, "cannot connect to \(agent): \(error)")
            }
        }
    }
}
