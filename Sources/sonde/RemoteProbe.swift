import NIOCore
import SondeAgentClient
import SondeCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A probe run on an agent (`sonde --agent http://10.1.2.3:8090 ping 10.0.0.1`): the same declaration, events,
/// report and text as the local probe it wraps, so the command line and its output are exactly a local run's.
/// The request goes to the agent's `POST /v1/probes/{kind}` (directly or through a gateway's
/// `/v1/agents/{srcIP}` prefix) and its NDJSON stream is decoded as it arrives.
struct RemoteProbe<Local: Probe>: Probe {
    let local: Local
    let agent: AgentAddress
    let token: String?

    var descriptor: ProbeDescriptor { local.descriptor }

    func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<Local.Event, Local.Summary> {
        local.textRenderer(options: options)
    }

    func run(
        _ request: ProbeRequest, context: ProbeContext, events: @escaping @Sendable (Local.Event) -> Void
    ) async throws(ProbeError) -> ProbeReport<Local.Summary> {
        var body: [(String, JSONValue)] = [("target", .string(request.target))]
        for (name, value) in request.parameters.storage.sorted(by: { $0.key < $1.key }) { body.append((name, JSONValue(value))) }
        var headers = [("Content-Type", "application/json"), ("Accept", "application/x-ndjson")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        let response: AgentClient.Response
        do {
            // The agent's own deadline (its --max-duration) bounds the run; this only catches an agent that hangs.
            response = try await AgentClient.send(
                .init(method: "POST", path: "/probes/\(descriptor.kind)", headers: headers, body: Array(JSONValue.object(body).serialized().utf8)),
                to: agent, timeout: .seconds(86_400)
            )
        } catch {
            throw ProbeError(.probeFailed, error.description)
        }
        let decoder = SondeJSON.decoder()
        var errorBody: [UInt8] = []
        var pending: [UInt8] = []
        do {
            for try await piece in response.body {
                guard response.status == 200 else {
                    errorBody += Array(buffer: piece)
                    continue
                }
                pending += Array(buffer: piece)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Data(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if let report = try handle(line, decoder: decoder, events: events) { return report }
                }
            }
        } catch let error as ProbeError {
            throw error
        } catch {
            throw ProbeError(.probeFailed, "\(error)")
        }
        if response.status != 200 {
            let failure = (try? decoder.decode(RemoteErrorBody.self, from: Data(errorBody)))?.error
            let message = failure?.message ?? "answered HTTP \(response.status)"
            throw ProbeError(ProbeError.Code(rawValue: failure?.code ?? "agent_error"), "agent \(agent): \(message)")
        }
        throw ProbeError(.probeFailed, "agent \(agent) ended the stream before the report")
    }

    /// One NDJSON line: an event is passed on, the report returned, a failure thrown.
    private func handle(
        _ line: Data, decoder: JSONDecoder, events: @Sendable (Local.Event) -> Void
    ) throws(ProbeError) -> ProbeReport<Local.Summary>? {
        let type = (try? decoder.decode(TypeOnly.self, from: line))?.type
        if type == "report" {
            do {
                return try decoder.decode(ProbeReport<Local.Summary>.self, from: line)
            } catch {
                throw ProbeError(.probeFailed, "agent \(agent) sent a report this sonde cannot read: \(error)")
            }
        }
        if type == "error", let failure = try? decoder.decode(RemoteError.self, from: line), failure.event == nil {
            throw ProbeError(ProbeError.Code(rawValue: failure.code), "agent \(agent): \(failure.message)")
        }
        if let event = try? decoder.decode(Local.Event.self, from: line) { events(event) }
        return nil
    }

    private struct TypeOnly: Decodable { var type: String }

    /// A failure inside the stream (`{"type":"error","code","message"}`); a DNS event of type `error` has no `code`.
    private struct RemoteError: Decodable {
        var code: String
        var message: String
        var event: String? { nil }
    }

    private struct RemoteErrorBody: Decodable {
        struct Detail: Decodable {
            var code: String
            var message: String
        }
        var error: Detail
    }
}
