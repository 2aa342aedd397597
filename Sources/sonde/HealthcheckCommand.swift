import SondeAgentClient
import SondeCore

#if canImport(Glibc)
    import Glibc
#endif

/// `sonde healthcheck [http://HOST:PORT]`: exit 0 when that Sonde answers `GET /healthz` with 200, else 1 with the
/// reason. For container `HEALTHCHECK`s, where there is no curl. The default is this container's own server:
/// 127.0.0.1 on `SONDE_PORT` if set (as `sonde serve` and `sonde gateway` read it), else 8090.
enum HealthcheckCommand {
    static let help =
        "USAGE: sonde healthcheck [http://HOST:PORT]   (default http://127.0.0.1:$SONDE_PORT, else :8090)\n\nExit 0 when GET /healthz answers 200, else 1."

    static func run(_ arguments: [String]) async -> ExitCode {
        if arguments.contains("--help") || arguments.contains("-h") {
            Output.write(help)
            return .success
        }
        guard arguments.count <= 1 else {
            Output.error("sonde healthcheck takes at most one URL, e.g. http://127.0.0.1:8090")
            return .usage
        }
        let server: AgentAddress
        do {
            let port = getenv("SONDE_PORT").map { String(cString: $0) } ?? "8090"
            server = try AgentAddress(arguments.first ?? "http://127.0.0.1:\(port)")
        } catch {
            Output.error(error.message)
            return .usage
        }
        let target = AgentAddress(host: server.host, port: server.port, apiBase: "")
        do {
            let response = try await AgentClient.send(
                .init(method: "GET", path: "/healthz"), to: target, connectTimeout: .seconds(2), timeout: .seconds(3))
            for try await _ in response.body {}
            guard response.status == 200 else {
                Output.error("\(target)/healthz answered HTTP \(response.status)")
                return .failure
            }
            return .success
        } catch {
            Output.error("\(target)/healthz: \(error)")
            return .failure
        }
    }
}
