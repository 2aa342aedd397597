import SondeCore
import SondeHTTP
import SondeServer
import SondeServerTestSupport
import Testing

/// Settings come from one declaration, through the config file, the environment and flags, in that order.
@Suite("server settings")
struct ServerSettingsTests {
    struct Missing: Error {}

    func files(_ files: [String: String]) -> (String) throws -> [UInt8] {
        { path in
            guard let text = files[path] else { throw Missing() }
            return Array(text.utf8)
        }
    }

    @Test("defaults: loopback without a token, 0.0.0.0 with one")
    func defaults() throws {
        let plain = try ServerSettings.configuration(flags: [:], environment: [:], readFile: files([:]))
        #expect(plain.listener.host == "127.0.0.1")
        #expect(plain.listener.port == 8090)
        #expect(plain.listener.token == nil)
        #expect(plain.policy.deny == AddressPolicy.defaultDeny)
        let limits = plain.limits
        #expect(
            [limits.maxConcurrent, limits.maxConcurrentPerClient, limits.maxCount, limits.defaultCount, limits.maxPayloadBytes]
                == [64, 8, 100, 5, 8972])
        #expect(limits.minInterval == 0.2 && limits.maxDuration == 60 && plain.listener.maxBodyBytes == 16_384)
        let withToken = try ServerSettings.configuration(flags: [:], environment: ["SONDE_TOKEN": "0123456789abcdef0123\n"], readFile: files([:]))
        #expect(withToken.listener.host == "0.0.0.0")
        #expect(withToken.listener.token == "0123456789abcdef0123")
    }

    @Test("flags beat the environment, which beats the config file")
    func precedence() throws {
        let configuration = try ServerSettings.configuration(
            flags: ["maxCount": .integer(7), "config": .string("/etc/sonde.json")],
            environment: ["SONDE_MAX_COUNT": "9", "SONDE_MAX_CONCURRENT": "3", "SONDE_TOKEN_FILE": "/run/token"],
            readFile: files([
                "/etc/sonde.json": #"{"maxCount": 11, "maxConcurrent": 12, "port": 9000, "deny": "10.0.0.0/8", "defaultDeny": false}"#,
                "/run/token": "from-the-file-0123456789\n",
            ])
        )
        #expect(configuration.limits.maxCount == 7)
        #expect(configuration.limits.maxConcurrent == 3)
        #expect(configuration.listener.port == 9000)
        #expect(configuration.listener.token == "from-the-file-0123456789")
        #expect(configuration.policy.deny.map(\.network.description) == ["10.0.0.0/8"])
    }

    @Test("bad settings name where they came from and what is allowed")
    func errors() {
        let cases: [([String: ParameterValue], [String: String], [String: String], String)] = [
            ([:], ["SONDE_MAX_COUNT": "lots"], [:], "invalid value 'lots' for SONDE_MAX_COUNT: expected an integer from 1 to 1000000"),
            (["port": .integer(0)], [:], [:], "invalid value '0' for --port: expected an integer from 1 to 65535"),
            ([:], ["SONDE_DENY": "10.0.0.0/8,nonsense"], [:], "invalid network 'nonsense' in --deny"),
            ([:], ["SONDE_TOKEN": "short"], [:], "the token in SONDE_TOKEN must be at least 16 characters"),
            (["tokenFile": .string("/missing")], [:], [:], "cannot read the token file /missing"),
            (["config": .string("/c.json")], [:], ["/c.json": #"{"maxCount": 5, "colour": "red"}"#], "unknown setting 'colour' in /c.json"),
            (["config": .string("/c.json")], [:], ["/c.json": "[1]"], "the config file /c.json is not a JSON object of settings"),
        ]
        for (flags, environment, contents, message) in cases {
            let error = #expect(throws: SettingsError.self) {
                try ServerSettings.configuration(flags: flags, environment: environment, readFile: files(contents))
            }
            #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "")")
        }
    }

    @Test("listening beyond loopback needs a token or --insecure")
    func exposure() throws {
        func listener(_ flags: [String: ParameterValue], token: String? = nil) throws -> ListenerConfiguration {
            var listener = try ServerSettings.configuration(flags: flags).listener
            listener.token = token
            return listener
        }
        #expect(throws: SettingsError.self) { try listener(["host": .string("0.0.0.0")]).checkExposure() }
        #expect(throws: SettingsError.self) { try listener(["host": .string("::")]).checkExposure() }
        #expect(throws: Never.self) { try listener(["host": .string("127.0.0.1")]).checkExposure() }
        #expect(throws: Never.self) { try listener(["host": .string("::1")]).checkExposure() }
        #expect(throws: Never.self) { try listener(["host": .string("0.0.0.0")], token: "0123456789abcdef").checkExposure() }
        #expect(throws: Never.self) { try listener(["host": .string("0.0.0.0"), "insecure": .boolean(true)]).checkExposure() }
    }

    @Test("limits narrow a probe's declared bounds; the interval floor rises", arguments: [0.5])
    func narrowing(_ minInterval: Double) throws {
        var limits = try ServerSettings.configuration(flags: [:]).limits
        limits.maxCount = 10
        limits.minInterval = minInterval
        limits.maxDuration = 30
        limits.maxPayloadBytes = 1000
        let descriptor = ProbeDescriptor(
            kind: "x", summary: "", target: "",
            parameters: [
                ParameterSpec("count", .integer(1...1_000_000), summary: "", role: .repetitions),
                ParameterSpec("interval", .seconds(0.002...3600), default: .number(0.2), summary: "", role: .interval),
                ParameterSpec("deadline", .seconds(0.001...86_400), summary: "", role: .duration),
                ParameterSpec("size", .integer(0...65_527), default: .integer(56), summary: "", role: .payloadBytes),
                ParameterSpec("ttl", .integer(1...255), summary: ""),
            ])
        let narrowed = limits.apply(to: descriptor)
        #expect(narrowed.parameter(named: "count")?.type == .integer(1...10))
        #expect(narrowed.parameter(named: "count")?.defaultValue == .integer(5))
        #expect(narrowed.parameter(named: "interval")?.type == .seconds(0.5...3600))
        #expect(narrowed.parameter(named: "interval")?.defaultValue == .number(0.5))
        #expect(narrowed.parameter(named: "deadline")?.type == .seconds(0.001...30))
        #expect(narrowed.parameter(named: "size")?.type == .integer(0...1000))
        #expect(narrowed.parameter(named: "ttl")?.type == .integer(1...255))
    }
}
