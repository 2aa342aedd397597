import SondeCore
import SondeHTTP

/// The gateway's OpenAPI 3.1 document. A probe's parameters are the sidecar's to declare (its
/// `GET /v1/agents/{srcIP}/probes` lists them); the gateway documents how requests reach it.
enum GatewayOpenAPI {
    static func make(version: String, configuration: GatewayConfiguration) -> JSONValue {
        let networks = configuration.agents.map(\.description).joined(separator: ", ")
        let srcIP = OpenAPI.pathParameter(
            "srcIP", "The pod whose sidecar runs the probe: an IP address in \(networks)",
            schema: ["type": "string", "minLength": 2, "maxLength": 45]
        )
        let errors =
            OpenAPI.requestErrors
            + "; 502 the sidecar is absent, refused or failed (agent_unreachable, agent_auth_failed, agent_bad_response), 504 it did not answer in time (agent_timeout)"
        let probeAnswer: (String, JSONValue) = (
            "200",
            [
                "description": "The sidecar's answer, streamed as it arrives (its status, if not 200, is passed on)",
                "content": [
                    "application/json": ["schema": ["$ref": "#/components/schemas/Report"]],
                    "application/x-ndjson": ["schema": ["type": "string", "description": "one JSON event per line, then the report"]],
                    "text/event-stream": ["schema": ["type": "string"]],
                    "text/plain": ["schema": ["type": "string", "description": "the CLI's text output"]],
                ],
            ]
        )
        let kind = OpenAPI.pathParameter(
            "kind", "A probe of the sidecar (ping, tcp, dns, …)", schema: ["type": "string", "pattern": "^[a-z0-9_-]{1,64}$"])
        let paths: [(String, JSONValue)] =
            [
                (
                    "/api/v2/ping/srcIP/{srcIP}/dstIP/{dstIP}/count/{count}",
                    [
                        "get": OpenAPI.operation(
                            id: "pingFromPod",
                            summary: "Ping dstIP from the pod srcIP (Accept: text/plain for ping's text, application/x-ndjson to stream)",
                            tag: "platform",
                            parameters: [
                                srcIP,
                                OpenAPI.pathParameter(
                                    "dstIP", "Address or host name to ping", schema: ["type": "string", "minLength": 1, "maxLength": 253]),
                                OpenAPI.pathParameter("count", "Echo requests to send", schema: ["type": "integer", "minimum": 1, "maximum": 10]),
                            ],
                            responses: [probeAnswer], errors: errors
                        )
                    ]
                ),
                (
                    "/v1/agents/{srcIP}/probes",
                    [
                        "get": OpenAPI.operation(
                            id: "listAgentProbes", summary: "The probes of the sidecar in srcIP, with their parameters", tag: "agents",
                            parameters: [srcIP], responses: [("200", OpenAPI.jsonResponse("The probes", ref: "ProbeList"))], errors: errors
                        )
                    ]
                ),
                (
                    "/v1/agents/{srcIP}/probes/{kind}",
                    [
                        "get": OpenAPI.operation(
                            id: "runAgentProbeGet", summary: "Run a probe on the sidecar in srcIP (target and parameters as query)", tag: "agents",
                            parameters: [
                                srcIP, kind, OpenAPI.queryParameter("target", "What the probe probes", schema: ["type": "string", "minLength": 1]),
                            ],
                            responses: [probeAnswer], errors: errors
                        ),
                        "post": OpenAPI.operation(
                            id: "runAgentProbePost", summary: "Run a probe on the sidecar in srcIP (target and parameters as a JSON body)",
                            tag: "agents",
                            parameters: [srcIP, kind], responses: [probeAnswer],
                            body: ["type": "object", "required": ["target"], "properties": ["target": ["type": "string", "minLength": 1]]],
                            errors: errors
                        ),
                    ]
                ),
            ]
            + OpenAPI.operationalPaths(
                metrics: "The gateway's own metrics: requests, forwards by outcome, refusals, process", readiness: "not shutting down")
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Sonde gateway",
                "version": .string(version),
                "description":
                    "Runs probes from inside a pod by forwarding to the Sonde sidecar at srcIP. Only sidecars in the configured networks are called, on the configured port.",
            ],
            "security": [["bearerAuth": []]],
            "paths": .object(paths),
            "components": [
                "securitySchemes": ["bearerAuth": ["type": "http", "scheme": "bearer"]],
                "schemas": OpenAPI.schemas,
            ],
        ]
    }
}
