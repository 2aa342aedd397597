import SondeCore
import SondeHTTP

/// The OpenAPI 3.1 document of this server, generated from the probe registry (each probe's narrowed
/// parameter declarations become its request schema and query parameters).
package enum OpenAPIDocument {
    static func make(probes: [ProbeDescriptor], version: String, legacyPingWithoutToken: Bool, modules: [String] = []) -> JSONValue {
        var paths: [(String, JSONValue)] = [
            (
                "/v1/probes",
                [
                    "get": OpenAPI.operation(
                        id: "listProbes", summary: "Every registered probe with its parameters (type, default, bounds, description)",
                        tag: "probes", responses: [("200", OpenAPI.jsonResponse("The probes", ref: "ProbeList"))]
                    )
                ]
            )
        ]
        for probe in probes {
            paths.append(("/v1/probes/\(probe.kind)", probePath(probe)))
        }
        // The compatibility route is ping's: documented while ping is served.
        if probes.contains(where: { $0.kind == LegacyPing.kind }) {
            paths.append(
                (
                    "/ping/{dstIP}/{count}",
                    [
                        "get": OpenAPI.operation(
                            id: "legacyPing", summary: "Ping as text, for platforms that call GET /ping/{dstIP}/{count} today",
                            tag: "compatibility",
                            parameters: [
                                OpenAPI.pathParameter(
                                    "dstIP", "Address or host name to ping",
                                    schema: ["type": "string", "minLength": 1, "maxLength": .integer(ProbeInput.maxTargetLength)]),
                                OpenAPI.pathParameter(
                                    "count", "Echo requests to send, one a second",
                                    schema: ["type": "integer", "minimum": 1, "maximum": .integer(LegacyPing.counts.upperBound)]),
                            ],
                            responses: [
                                (
                                    "200",
                                    [
                                        "description": "ping-style text, line by line as replies arrive",
                                        "content": ["text/plain": ["schema": ["type": "string"]]],
                                    ]
                                )
                            ],
                            open: legacyPingWithoutToken
                        )
                    ]
                )
            )
        }
        paths +=
            [
                (
                    "/probe",
                    [
                        "get": OpenAPI.operation(
                            id: "blackboxProbe",
                            summary: "blackbox_exporter-compatible probe: the module's probe against target, as Prometheus metrics",
                            tag: "prometheus",
                            parameters: [
                                OpenAPI.queryParameter(
                                    "module", "A module of the modules file",
                                    schema: ["type": "string", "enum": .array(modules.map(JSONValue.string))]),
                                OpenAPI.queryParameter(
                                    "target", "What the module probes",
                                    schema: ["type": "string", "minLength": 1, "maxLength": .integer(ProbeInput.maxTargetLength)]),
                                .object([
                                    ("name", "hostname"), ("in", "query"), ("required", false),
                                    (
                                        "description",
                                        "The host an http request names (Host, SNI) while it connects to target; a tcp module's TLS name"
                                    ),
                                    ("schema", ["type": "string", "minLength": 1, "maxLength": 253]),
                                ]),
                                .object([
                                    ("name", "debug"), ("in", "query"), ("required", false),
                                    ("description", "true: logs, metrics and the module as text"),
                                    ("schema", ["type": "string", "enum": ["true", "false"]]),
                                ]),
                            ],
                            responses: [
                                (
                                    "200",
                                    [
                                        "description": "Prometheus text format (probe_success 0 or 1)",
                                        "content": ["text/plain": ["schema": ["type": "string"]]],
                                    ]
                                )
                            ]
                        )
                    ]
                ),
                (
                    "/config",
                    [
                        "get": OpenAPI.operation(
                            id: "configuration", summary: "The loaded modules of /probe, in Sonde's module format, secrets shown as <secret>",
                            tag: "prometheus",
                            responses: [("200", ["description": "YAML", "content": ["text/plain": ["schema": ["type": "string"]]]])]
                        )
                    ]
                ),
                (
                    "/-/reload",
                    [
                        "post": OpenAPI.operation(
                            id: "reload",
                            summary: "Re-read the modules file (as SIGHUP does); an invalid file keeps the loaded modules and answers 500 saying why",
                            tag: "prometheus",
                            responses: [("200", OpenAPI.jsonResponse("Reloaded: the modules now loaded", schema: ["type": "object"]))]
                        )
                    ]
                ),
                (
                    "/v1/status",
                    [
                        "get": OpenAPI.operation(
                            id: "status", summary: "Privileges (uid, gid, capabilities, NoNewPrivs), ICMP socket mode, limits and policy",
                            tag: "operations", responses: [("200", OpenAPI.jsonResponse("The agent's state", schema: ["type": "object"]))]
                        )
                    ]
                ),
            ]
            + OpenAPI.operationalPaths(
                metrics: "Sonde's own metrics: requests, probes, refusals, privileges, process",
                readiness: "sockets open, privileges dropped, not shutting down")
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Sonde",
                "version": .string(version),
                "description":
                    "Network probes run from inside this pod's network namespace. A probe that ran answers 200 with success true or false; request errors answer {\"error\": {\"code\", \"message\"}}.",
            ],
            "security": [["bearerAuth": []]],
            "paths": .object(paths),
            "components": [
                "securitySchemes": ["bearerAuth": ["type": "http", "scheme": "bearer"]],
                "schemas": OpenAPI.schemas,
            ],
        ]
    }

    private static func probePath(_ probe: ProbeDescriptor) -> JSONValue {
        let targetSchema: JSONValue = [
            "type": "string", "minLength": 1, "maxLength": .integer(ProbeInput.maxTargetLength), "pattern": "^[^\\s\\x00-\\x1f\\x7f]+$",
            "description": .string(probe.target),
        ]
        var properties: [(String, JSONValue)] = [("target", targetSchema)]
        var query: [JSONValue] = [
            .object([
                ("name", "target"), ("in", "query"), ("required", true), ("description", .string(probe.target)), ("schema", targetSchema),
            ])
        ]
        for spec in probe.parameters {
            properties.append((spec.name, schema(for: spec, allowingList: true)))
            query.append(
                .object([
                    ("name", .string(spec.name)), ("in", "query"), ("required", false), ("description", .string(spec.summary)),
                    ("schema", schema(for: spec, maxLength: ProbeInput.maxQueryValueBytes)),
                ]))
        }
        let responses: [(String, JSONValue)] = [
            (
                "200",
                [
                    "description": "The probe ran: its report (success true or false), or its events as they happen, then the report",
                    "content": [
                        "application/json": ["schema": ["$ref": "#/components/schemas/Report"]],
                        "application/x-ndjson": ["schema": ["type": "string", "description": "one JSON event per line, then the report"]],
                        "text/event-stream": ["schema": ["type": "string"]],
                        "text/plain": ["schema": ["type": "string", "description": "the CLI's text output"]],
                    ],
                ]
            )
        ]
        let summary = "\(probe.summary): \(probe.kind)"
        return [
            "get": OpenAPI.operation(id: "\(probe.kind)Get", summary: summary, tag: "probes", parameters: query, responses: responses),
            "post": OpenAPI.operation(
                id: "\(probe.kind)Post", summary: summary, tag: "probes", responses: responses,
                body: ["type": "object", "required": ["target"], "properties": .object(properties), "additionalProperties": false]
            ),
        ]
    }

    /// The JSON Schema of one parameter, from its declaration.
    /// - Parameters:
    ///   - maxLength: a cap on text lengths below the declaration's (a query string's).
    ///   - allowingList: a repeatable parameter may be a JSON list, one item per repetition (a body's).
    static func schema(for spec: ParameterSpec, maxLength cap: Int = .max, allowingList: Bool = false) -> JSONValue {
        var members: [(String, JSONValue)]
        switch spec.type {
        case .integer(let range):
            members = [("type", "integer"), ("minimum", .integer(range.lowerBound)), ("maximum", .integer(range.upperBound))]
        case .seconds(let range):
            members = [("type", "number"), ("minimum", .number(range.lowerBound)), ("maximum", .number(range.upperBound))]
        case .boolean:
            members = [("type", "boolean")]
        case .choice(let words):
            members = [("type", "string"), ("enum", .array(words.map(JSONValue.string)))]
        case .text(let maxLength, let format):
            members = [("type", "string"), ("minLength", 1), ("maxLength", .integer(min(maxLength, cap)))]
            switch format {
            case .ipAddress: members.append(("x-format", "ip-address"))
            case .interfaceOrAddress: members.append(("x-format", "interface-or-ip-address"))
            case .regularExpression: members.append(("format", "regex"))
            case .regularExpressionLines: members.append(("x-format", "regex-lines"))
            case .headerLines: members.append(("x-format", "header-lines"))
            case .lines: members.append(("x-format", "lines"))
            case .multiline: members.append(("x-format", "multiline"))
            case .pem: members.append(("x-format", "pem"))
            case .filePath: members.append(("x-format", "file-path"))
            case .any: break
            }
        }
        members.append(("description", .string(spec.summary + " (expected " + spec.allowedValues + ")")))
        if let value = spec.defaultValue {
            members.append(("default", JSONValue(value)))
        }
        guard allowingList, spec.commandLine.repeatable, case .text(let maxLength, _) = spec.type else { return .object(members) }
        let item: JSONValue = ["type": "string", "minLength": 1, "maxLength": .integer(maxLength), "pattern": "^[^\\r\\n]+$"]
        let list: JSONValue = ["type": "array", "items": item, "minItems": 1, "maxItems": .integer(ParameterSpec.maxListItems)]
        return ["oneOf": [.object(members.filter { $0.0 != "description" }), list], "description": .string(spec.summary)]
    }
}
