import Dispatch
import SondeCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one probe from the command line against one or more targets, printing text or NDJSON as events
/// happen. Ctrl-C ends the run early and still prints the statistics, once.
struct ProbeRunner<P: Probe> {
    let probe: P
    let commandLine: ProbeCommandLine

    /// Everything that reaches the printer, in the order it happened.
    private enum Item: Sendable {
        case event(P.Event)
        /// The report of the target at `index` on the command line (a target may be given twice).
        case report(index: Int, ProbeReport<P.Summary>)
        case failed(target: String, ProbeError)
    }

    func run() async -> ExitCode {
        let descriptor = probe.descriptor
        let parameters: ParameterValues
        do {
            parameters = try descriptor.validate(commandLine.given)
        } catch {
            Output.error(Self.commandLineMessage(for: error, descriptor: descriptor))
            return .usage
        }
        let targets = commandLine.targets
        let multiTarget = targets.count > 1
        let renderer = probe.textRenderer(
            options: TextRenderingOptions(
                quiet: commandLine.quiet, multiTarget: multiTarget, targetWidth: targets.map(\.count).max() ?? 0,
                reportOutstanding: commandLine.reportOutstanding,
                live: descriptor.redrawsTable && !commandLine.report && !commandLine.json && !multiTarget && isatty(STDOUT_FILENO) == 1,
                wide: commandLine.wide
            )
        )
        let gap = commandLine.sendGap ?? (multiTarget ? .milliseconds(1) : nil)
        let context = ProbeContext(pacer: gap.flatMap { $0 > .zero ? SendPacer(gap: $0) : nil })
        let json = commandLine.json
        let probe = self.probe

        let (items, feed) = AsyncStream<Item>.makeStream()
        let work = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, target) in targets.enumerated() {
                    group.addTask {
                        do throws(ProbeError) {
                            let request = ProbeRequest(target: target, parameters: parameters)
                            let report = try await probe.run(request, context: context) { feed.yield(.event($0)) }
                            feed.yield(.report(index: index, report))
                        } catch {
                            feed.yield(.failed(target: target, error))
                        }
                    }
                }
            }
            feed.finish()
        }
        let interrupt = Self.onInterrupt { work.cancel() }
        defer { interrupt.cancel() }

        var reports: [Int: ProbeReport<P.Summary>] = [:]
        var failures = 0
        for await item in items {
            switch item {
            case .event(let event):
                if json { Output.write(SondeJSON.line(event)) } else { Output.write(renderer.lines(for: event)) }
            case .report(let index, let report):
                reports[index] = report
                guard !multiTarget else { break }
                if json { Output.write(SondeJSON.line(report)) } else { Output.write(renderer.lines(for: report)) }
            case .failed(let target, let error):
                failures += 1
                if json {
                    Output.write(SondeJSON.line(ErrorLine(target: target, code: error.code.rawValue, message: error.message)))
                } else {
                    Output.error(Self.commandLineMessage(for: error, descriptor: descriptor))
                }
            }
        }
        await work.value
        // With several targets the summaries come together at the end, in the order given (fping style).
        if multiTarget {
            if !json, !commandLine.quiet { Output.write("") }
            for index in targets.indices {
                guard let report = reports[index] else { continue }
                if json { Output.write(SondeJSON.line(report)) } else { Output.write(renderer.lines(for: report)) }
            }
        }
        if failures > 0 { return .usage }
        return reports.values.allSatisfy(\.success) ? .success : .failure
    }

    /// The error's message, naming a refused parameter by its command-line spelling (`-s/--size`).
    static func commandLineMessage(for error: ProbeError, descriptor: ProbeDescriptor) -> String {
        guard let refused = error.parameter, let spec = descriptor.parameter(named: refused.parameter) else {
            return error.message
        }
        return "invalid value '\(refused.value)' for \(spec.optionSpellings): expected \(refused.allowed)"
    }

    /// Calls `handler` on the first SIGINT or SIGTERM; a second one exits at once.
    private static func onInterrupt(_ handler: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let seen = SignalCount()
        source.setEventHandler {
            if seen.increment() > 1 { exit(130) }
            handler()
        }
        source.resume()
        return source
    }
}

/// Counts signals across the handler's invocations.
private final class SignalCount: Sendable {
    private let count = Atomic<Int>(0)
    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
}

/// A per-target error in `--json` output.
struct ErrorLine: Encodable {
    var type = "error"
    var target: String
    var code: String
    var message: String
}
