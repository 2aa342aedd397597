import Foundation
import PackagePlugin

/// `swift package --allow-writing-to-package-directory scaffold-probe --name Whois [--kind whois]
/// [--add-to-manifest]`
///
/// Writes a complete, compiling probe module (`Sources/<Name>Probe`) and its test (`Tests/<Name>ProbeTests`),
/// then prints the `Package.swift` lines that add them — or, with `--add-to-manifest`, adds them at the
/// `// scaffold-probe:` markers. Once the module is in the `sonde` target's dependencies, the generated registry
/// picks it up: it is in `sonde probes`, `sonde <kind> --help`, `GET /v1/probes` and `/openapi.json`.
@main
struct ScaffoldProbe: CommandPlugin {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func performCommand(context: PluginContext, arguments: [String]) throws {
        var extractor = ArgumentExtractor(arguments)
        let help = extractor.extractFlag(named: "help") > 0
        guard !help, let name = extractor.extractOption(named: "name").last else {
            print(
                "usage: swift package --allow-writing-to-package-directory scaffold-probe --name Whois [--kind whois] [--add-to-manifest]")
            if help { return }
            throw Failure(description: "missing --name: the probe's type name in UpperCamelCase, e.g. Whois")
        }
        let kind = extractor.extractOption(named: "kind").last ?? name.lowercased()
        let editManifest = extractor.extractFlag(named: "add-to-manifest") > 0
        if let unknown = extractor.remainingArguments.first {
            throw Failure(description: "unknown argument '\(unknown)' (expected --name, --kind, --add-to-manifest)")
        }
        guard let first = name.first, first.isUppercase, first.isASCII, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
            name.count <= 40
        else {
            throw Failure(description: "invalid --name '\(name)': expected UpperCamelCase letters and digits, e.g. Whois")
        }
        guard kind.range(of: "^[a-z][a-z0-9-]{0,31}$", options: .regularExpression) != nil else {
            throw Failure(description: "invalid --kind '\(kind)': expected lowercase letters, digits and dashes, starting with a letter (at most 32)")
        }

        let root = context.package.directoryURL
        let module = "\(name)Probe"
        let files = [
            root.appending(path: "Sources/\(module)/\(module).swift"): ProbeTemplate.source,
            root.appending(path: "Tests/\(module)Tests/\(module)Tests.swift"): ProbeTemplate.test,
        ]
        for url in files.keys where FileManager.default.fileExists(atPath: url.path) {
            throw Failure(description: "\(url.path) already exists: choose another --name or remove it")
        }
        for (url, template) in files.sorted(by: { $0.key.path < $1.key.path }) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let text = template.replacingOccurrences(of: "__Name__", with: name).replacingOccurrences(of: "__kind__", with: kind)
            try text.write(to: url, atomically: true, encoding: .utf8)
            print("wrote \(url.path)")
        }

        let lines = ManifestLines(module: module)
        if editManifest {
            let manifest = root.appending(path: "Package.swift")
            var text = try String(contentsOf: manifest, encoding: .utf8)
            for (marker, line) in lines.insertions {
                guard let range = text.range(of: marker) else {
                    throw Failure(description: "Package.swift has no '\(marker)' line: add the lines below by hand\n\(lines.text)")
                }
                let lineStart = text[..<range.lowerBound].lastIndex(of: "\n").map { text.index(after: $0) } ?? text.startIndex
                let indent = String(text[lineStart..<range.lowerBound])
                text.insert(contentsOf: line + "\n" + indent, at: range.lowerBound)
            }
            try text.write(to: manifest, atomically: true, encoding: .utf8)
            print("added \(module) to Package.swift")
        } else {
            print("\nAdd to Package.swift (or run again with --add-to-manifest):\n\(lines.text)")
        }
        print("\nThen: swift build && .build/debug/sonde \(kind) --help")
    }
}

/// The `Package.swift` lines that add a probe module.
struct ManifestLines {
    let module: String

    var target: String { #".target(name: "\#(module)", dependencies: ["SondeCore"], swiftSettings: strictSwift),"# }
    var dependency: String { #""\#(module)","# }
    var test: String { #".testTarget(name: "\#(module)Tests", dependencies: ["\#(module)", "SondeCore"], swiftSettings: strictSwift),"# }

    /// Each line goes just above its marker.
    var insertions: [(String, String)] {
        [
            ("// scaffold-probe: probe targets", target),
            ("// scaffold-probe: sonde dependencies", dependency),
            ("// scaffold-probe: test targets", test),
        ]
    }

    var text: String {
        """
          in targets:                     \(target)
          in the sonde target's dependencies:  \(dependency)
          in targets:                     \(test)
        """
    }
}

/// The generated module: a real, small probe — how long the target takes to resolve, `count` times — that
/// shows every part a probe has (declaration, events, report, policy, deadline, cancellation, text), ready to
/// be replaced by the real check.
enum ProbeTemplate {
    static let source = #"""
        #if canImport(FoundationEssentials)
        import FoundationEssentials
        #else
        import Foundation
        #endif
        public import SondeCore

        /// __Name__: resolves the target `count` times and reports how long each resolution took.
        ///
        /// Generated by `swift package scaffold-probe --name __Name__`. Replace `attempt(_:)` with the real check;
        /// keep the rest: the declaration drives the CLI, the API, the OpenAPI document and every error message.
        public struct __Name__Probe: Probe {
            public static let kind: ProbeKind = "__kind__"

            public let descriptor = ProbeDescriptor(
                kind: kind,
                summary: "__Name__: how long the target takes to resolve (generated skeleton: replace with the real check)",
                target: "host name or IP address",
                parameters: [
                    ParameterSpec("count", .integer(1...1000), default: .integer(3), summary: "Attempts to make", cli: .init(short: "c"), role: .repetitions),
                    ParameterSpec("interval", .seconds(0.01...60), default: .number(0.2), summary: "Seconds between attempts", cli: .init(short: "i"), role: .interval),
                    FamilyPreference.parameter,
                ]
            )

            public init() {}

            public func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<__Name__Event, __Name__Summary> {
                __Name__TextRenderer()
            }

            public func run(
                _ request: ProbeRequest, context: ProbeContext, events: @escaping @Sendable (__Name__Event) -> Void
            ) async throws(ProbeError) -> ProbeReport<__Name__Summary> {
                let family = FamilyPreference(rawValue: request.parameters.string("family") ?? "any") ?? .any
                let count = request.parameters.integer("count") ?? 3
                let interval = request.parameters.duration("interval") ?? .milliseconds(200)
                let started = Date()
                let start = ContinuousClock.now
                var summary = __Name__Summary()
                var times = RTTStatistics()
                var address: IPAddress?
                for seq in 1...count {
                    if Task.isCancelled || context.deadline.map({ $0 <= .now }) == true { break }
                    if seq > 1 { try? await Task.sleep(for: interval) }
                    let attemptStart = ContinuousClock.now
                    let resolved = try await HostResolver.resolve(request.target, family: family)
                    guard let first = resolved.first else { break }
                    // Every address a probe sends to must pass the caller's target policy.
                    try context.authorize(first, target: request.target)
                    address = first
                    let elapsed = ContinuousClock.now - attemptStart
                    times.add(microseconds: Int((elapsed.milliseconds * 1000).rounded()))
                    summary.attempts += 1
                    events(__Name__Event(type: "attempt", target: request.target, seq: seq, address: first.description, timeMs: elapsed.milliseconds))
                }
                summary.time = times.summary
                return ProbeReport(
                    probe: Self.kind, target: request.target, address: address?.description, success: summary.attempts > 0,
                    startedAt: started, durationSeconds: (ContinuousClock.now - start).seconds, parameters: request.parameters,
                    summary: summary
                )
            }
        }

        /// One attempt, as JSON: `{"type": "attempt", "seq": 1, "address": "10.0.0.7", "timeMs": 0.4}`.
        public struct __Name__Event: ProbeEvent, Equatable {
            public var type: String
            public var target: String
            public var seq: Int
            public var address: String
            public var timeMs: Double
        }

        /// The run's statistics.
        public struct __Name__Summary: ProbeSummary, Equatable {
            public var attempts = 0
            public var time: RTTSummary?
        }

        /// The text `sonde __kind__` prints.
        struct __Name__TextRenderer: ProbeTextRenderer {
            func lines(for event: __Name__Event) -> [TextLine] {
                [TextLine("\(event.target) (\(event.address)): seq=\(event.seq) time=\(DecimalFormat.rounded(event.timeMs, decimals: 3)) ms")]
            }

            func lines(for report: ProbeReport<__Name__Summary>) -> [TextLine] {
                var lines = [TextLine(""), TextLine("--- \(report.target) __kind__ statistics ---"), TextLine("\(report.summary.attempts) attempts")]
                if let time = report.summary.time { lines.append(TextLine("time min/avg/max/mdev = \(time.slashSeparated()) ms")) }
                return lines
            }
        }

        /// __Name__Probe's entry in the generated registry.
        public enum __Name__ProbeRegistration: ProbeModuleRegistration {
            public static func probes(_ resources: ProbeResources) -> [any Probe] { [__Name__Probe()] }
        }

        extension Duration {
            fileprivate var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
            fileprivate var seconds: Double { milliseconds / 1000 }
        }
        """#

    static let test = #"""
        import Foundation
        import __Name__Probe
        import SondeCore
        import Testing

        @Suite("__Name__ probe")
        struct __Name__ProbeTests {
            @Test("resolves a literal address count times and reports each attempt")
            func literal() async throws {
                let probe = __Name__Probe()
                let parameters = try probe.descriptor.validate(["count": .integer(2), "interval": .number(0.01)])
                let seen = Seen()
                let report = try await probe.run(ProbeRequest(target: "127.0.0.1", parameters: parameters), context: ProbeContext()) { seen.add($0) }
                #expect(report.success)
                #expect(report.summary.attempts == 2)
                #expect(seen.events.map(\.seq) == [1, 2])
                #expect(seen.events.allSatisfy { $0.address == "127.0.0.1" })
            }

            @Test("the target policy applies")
            func policy() async throws {
                let probe = __Name__Probe()
                let parameters = try probe.descriptor.validate([:])
                let context = ProbeContext(policy: AddressPolicy(deny: [.init(IPNetwork("127.0.0.0/8")!)]))
                await #expect(throws: ProbeError.self) {
                    _ = try await probe.run(ProbeRequest(target: "127.0.0.1", parameters: parameters), context: context) { _ in }
                }
            }

            @Test("bad parameters are refused with the allowed range")
            func validation() {
                #expect(throws: ProbeError.invalid(parameter: "count", value: "0", allowed: "an integer from 1 to 1000")) {
                    try __Name__Probe().descriptor.validate(["count": .integer(0)])
                }
            }
        }

        final class Seen: @unchecked Sendable {
            private var list: [__Name__Event] = []
            private let lock = NSLock()
            func add(_ event: __Name__Event) { lock.withLock { list.append(event) } }
            var events: [__Name__Event] { lock.withLock { list } }
        }
        """#
}
