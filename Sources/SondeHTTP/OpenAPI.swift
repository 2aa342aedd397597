public import SondeCore

/// Pieces of the OpenAPI 3.1 documents the sidecar and the gateway publish: operations, parameters, responses and
/// the schemas both use.
package enum OpenAPI {
    /// The default answer of every operation: a request error.
    package static let requestErrors =
        "A request error: 400 invalid, 401 token, 403 policy, 404, 405, 406, 413, 415, 429 limit (Retry-After), 503 shutting down"

    package static func operation(
        id: String, summary: String, tag: String, parameters: [JSONValue] = [], responses: [(String, JSONValue)],
        body: JSONValue? = nil, open: Bool = false, errors: String = requestErrors
    ) -> JSONValue {
        var members: [(String, JSONValue)] = [("operationId", .string(id)), ("summary", .string(summary)), ("tags", [.string(tag)])]
        if !parameters.isEmpty { members.append(("parameters", .array(parameters))) }
        if let body {
            members.append(("requestBody", ["required": true, "content": ["application/json": ["schema": body]]]))
        }
        if open { members.append(("security", [])) }
        members.append(
            (
                "responses",
                .object(
                    responses + [
                        ("default", jsonResponse(errors, ref: "Error"))
                    ])
            ))
        return .object(members)
    }

    package static func queryParameter(_ name: String, _ description: String, schema: JSONValue) -> JSONValue {
        ["name": .string(name), "in": "query", "required": true, "description": .string(description), "schema": schema]
    }

    package static func pathParameter(_ name: String, _ description: String, schema: JSONValue) -> JSONValue {
        ["name": .string(name), "in": "path", "required": true, "description": .string(description), "schema": schema]
    }

    package static func jsonResponse(_ description: String, ref: String) -> JSONValue {
        ["description": .string(description), "content": ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(ref)")]]]]
    }

    package static func jsonResponse(_ description: String, schema: JSONValue) -> JSONValue {
        ["description": .string(description), "content": ["application/json": ["schema": schema]]]
    }

    /// `/metrics`, `/healthz`, `/readyz` and `/openapi.json`, which every listener serves.
    /// - Parameters:
    ///   - metrics: what the listener's own metrics count.
    ///   - readiness: what `/readyz` waits for.
    package static func operationalPaths(metrics: String, readiness: String) -> [(String, JSONValue)] {
        [
            (
                "/metrics",
                [
                    "get": operation(
                        id: "metrics", summary: metrics, tag: "prometheus",
                        responses: [("200", ["description": "Prometheus text format", "content": ["text/plain": ["schema": ["type": "string"]]]])]
                    )
                ]
            ),
            (
                "/healthz",
                [
                    "get": operation(
                        id: "health", summary: "Liveness: the process answers", tag: "operations",
                        responses: [("200", jsonResponse("Alive", ref: "Health"))], open: true
                    )
                ]
            ),
            (
                "/readyz",
                [
                    "get": operation(
                        id: "ready", summary: "Readiness: \(readiness)", tag: "operations",
                        responses: [("200", jsonResponse("Ready", ref: "Health")), ("503", jsonResponse("Shutting down", ref: "Error"))],
                        open: true
                    )
                ]
            ),
            (
                "/openapi.json",
                [
                    "get": operation(
                        id: "openapi", summary: "This document", tag: "operations",
                        responses: [("200", jsonResponse("OpenAPI 3.1", schema: ["type": "object"]))]
                    )
                ]
            ),
        ]
    }

    package static let schemas: JSONValue = [
        "Error": [
            "type": "object", "required": ["error"],
            "properties": [
                "error": [
                    "type": "object", "required": ["code", "message"],
                    "properties": [
                        "code": ["type": "string", "description": "Stable machine-readable code, e.g. invalid_parameter, target_denied, over_limit"],
                        "message": ["type": "string", "description": "What was wrong and what is allowed"],
                        "field": ["type": "string", "description": "The refused field, when there is one"],
                    ],
                ]
            ],
        ],
        "Report": [
            "type": "object",
            "required": ["type", "probe", "target", "success", "startedAt", "durationSeconds", "parameters", "summary"],
            "properties": [
                "type": ["const": "report"],
                "probe": ["type": "string"],
                "target": ["type": "string"],
                "address": ["type": "string", "description": "The address actually probed"],
                "success": ["type": "boolean"],
                "startedAt": ["type": "string", "format": "date-time"],
                "durationSeconds": ["type": "number"],
                "parameters": ["type": "object", "description": "The parameters in force, defaults included"],
                "summary": ["type": "object", "description": "The probe's own statistics"],
            ],
        ],
        "ProbeList": [
            "type": "object", "required": ["probes"],
            "properties": [
                "probes": [
                    "type": "array",
                    "items": [
                        "type": "object", "required": ["kind", "summary", "target", "parameters"],
                        "properties": [
                            "kind": ["type": "string"], "summary": ["type": "string"], "target": ["type": "string"],
                            "parameters": ["type": "array", "items": ["type": "object", "required": ["name", "type", "allowed", "summary"]]],
                        ],
                    ],
                ]
            ],
        ],
        "Health": ["type": "object", "required": ["status"], "properties": ["status": ["type": "string"]]],
    ]
}
