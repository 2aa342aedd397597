/// An error that stops a probe from running, with a message that tells the user what to do.
///
/// A probe that *ran* never throws for what it found (loss, refusal, unreachability are results in the
/// report). `ProbeError` is for requests that cannot run: bad input, a name that does not resolve, no socket.
public struct ProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable error code (used by the API's `{"error": {"code": …}}`).
    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidParameter = Code(rawValue: "invalid_parameter")
        public static let unknownParameter = Code(rawValue: "unknown_parameter")
        public static let invalidTarget = Code(rawValue: "invalid_target")
        public static let unresolvableTarget = Code(rawValue: "unresolvable_target")
        /// The target policy refuses the address the target resolved to.
        public static let targetDenied = Code(rawValue: "target_denied")
        public static let socketUnavailable = Code(rawValue: "socket_unavailable")
        public static let unsupported = Code(rawValue: "unsupported")
        /// An external probe crashed, hung, or printed something it should not have.
        public static let probeFailed = Code(rawValue: "probe_failed")
    }

    public let code: Code
    public let message: String
    /// The refused parameter, when the error is about one.
    public let parameter: ParameterError?

    public init(_ code: Code, _ message: String, parameter: ParameterError? = nil) {
        self.code = code
        self.message = message
        self.parameter = parameter
    }

    public var description: String { message }

    /// A parameter value outside what its declaration allows.
    public static func invalid(_ error: ParameterError) -> ProbeError {
        ProbeError(
            .invalidParameter,
            "invalid value '\(error.value)' for \(error.parameter): expected \(error.allowed)",
            parameter: error
        )
    }

    /// A parameter value that is allowed alone but not with the rest of the request.
    public static func invalid(parameter: String, value: String, allowed: String) -> ProbeError {
        invalid(ParameterError(parameter: parameter, value: value, allowed: allowed))
    }
}
