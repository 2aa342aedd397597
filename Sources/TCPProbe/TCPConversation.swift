import NIOCore
import NIOPosix
import SondeCore
import SondeRegex
import SondeTLS
import Synchronization

/// What an open connection is asked to do, in order: blackbox_exporter's `query_response` steps (`expect`,
/// `send`, `starttls`), and Sonde's own `--banner`, `--send` and `--expect`, which are steps too.
enum TCPStep: Sendable {
    /// TLS from here on: `--tls` (before the first byte), or `starttls` after a plaintext exchange.
    case startTLS
    /// Read the server's first line, or `limit` bytes (`--banner`).
    case banner(limit: Int)
    /// Write these bytes; with `substituting`, `${N}` is first replaced by group N of the last expect's match.
    case send([UInt8], substituting: Bool)
    /// Read until the pattern matches: line by line (blackbox's `expect`), or on all bytes so far (`--expect`).
    /// A line-by-line expect may name `labels` for `probe_expect_info`, their values templates over its groups.
    case expect(SafeRegex, lineByLine: Bool, labels: [ExpectLabel] = [])
    /// Read exactly these bytes (blackbox's `expect_bytes`).
    case expectBytes([UInt8])

    /// A label of `probe_expect_info`: its value is a template (`${1}`) over the groups of its expect's match.
    struct ExpectLabel: Sendable {
        var name: String
        var template: [UInt8]
    }

    /// The most steps one conversation takes.
    static let maxSteps = 32

    /// `expect:REGEX`, `expect-bytes:TEXT`, `send:TEXT` (escapes `\r \n \t \\ \xHH`; a newline is appended, as
    /// blackbox does), `label:NAME=VALUE` (after an expect) or `starttls`, one per line (each `--step` on the command
    /// line is one line).
    static func parse(_ text: String) throws(ProbeError) -> [TCPStep] {
        var steps: [TCPStep] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let word = line.prefix { $0 != ":" }
            let rest = line.dropFirst(word.count + 1)
            switch word.lowercased() {
            case "starttls" where rest.isEmpty && !line.hasSuffix(":"):
                steps.append(.startTLS)
            case "send" where line.contains(":"):
                steps.append(.send(EscapedText.bytes(String(rest)) + [10], substituting: true))
            case "expect" where !rest.isEmpty:
                do {
                    steps.append(.expect(try SafeRegex(String(rest)), lineByLine: true))
                } catch {
                    throw ProbeError.invalid(
                        parameter: "step", value: String(line), allowed: "expect:REGEX with an RE2 regular expression (\(error.reason))")
                }
            case "expect-bytes" where !rest.isEmpty:
                let bytes = EscapedText.bytes(String(rest))
                guard bytes.count <= TCPConversation.maxExpectBytes else {
                    throw ProbeError.invalid(
                        parameter: "step", value: "expect-bytes:… (\(bytes.count) bytes)", allowed: "at most \(TCPConversation.maxExpectBytes) bytes")
                }
                steps.append(.expectBytes(bytes))
            case "label" where !rest.isEmpty:
                let name = rest.prefix { $0 != "=" }
                guard case .expect(let regex, true, let labels)? = steps.last, ExpectLabel.isName(name), rest.count > name.count else {
                    throw ProbeError.invalid(
                        parameter: "step", value: String(line),
                        allowed: "label:NAME=VALUE right after an expect:REGEX step (NAME a Prometheus label name, not starting with __)")
                }
                let label = ExpectLabel(name: String(name), template: EscapedText.bytes(String(rest.dropFirst(name.count + 1))))
                steps[steps.count - 1] = .expect(regex, lineByLine: true, labels: labels + [label])
            default:
                throw ProbeError.invalid(
                    parameter: "step", value: String(line),
                    allowed: "expect:REGEX, expect-bytes:TEXT, send:TEXT, label:NAME=VALUE or starttls "
                        + "(e.g. --step 'expect:^\\* OK' --step 'send:a1 STARTTLS')")
            }
        }
        guard steps.count <= maxSteps else {
            throw ProbeError.invalid(parameter: "step", value: "\(steps.count) steps", allowed: "at most \(maxSteps) steps")
        }
        return steps
    }
}

extension TCPStep.ExpectLabel {
    /// A Prometheus label name that is not reserved: `[a-zA-Z_][a-zA-Z0-9_]*` without a leading `__`.
    static func isName(_ name: Substring) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter || first == "_", !name.hasPrefix("__") else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }
}

/// One step as it went, for the attempt's event.
public struct TCPStepResult: Codable, Sendable, Equatable {
    /// `expect`, `send` or `starttls`.
    public var step: String
    /// The pattern of an expect, the text of a send (after substitution; at most 1 KiB shown).
    public var text: String?
    /// Whether an expect matched; whether the handshake of a starttls was trusted.
    public var ok: Bool
    /// The line an expect matched, or what it read before giving up (at most 1 KiB shown).
    public var received: String?
}

/// A connection's conversation after the connect, on a NIO channel over the connected socket (the connect itself
/// is timed by the probe's own reactor): TLS whenever a step asks for it, every read bounded in bytes and time.
struct TCPConversation {
    struct Result: Sendable {
        var banner: String?
        var expect: ExpectResult?
        var steps: [TCPStepResult] = []
        var tls: TLSFacts?
        var tlsTime: Duration?
        /// Why the conversation stopped before its last step: a timeout, the server closing, an untrusted chain.
        var failure: String?
        /// An expect that did not match ended it (blackbox's `probe_failed_due_to_regex`).
        var failedDueToRegex = false
        /// An expect-bytes that read other bytes ended it (`probe_failed_due_to_bytes`).
        var failedDueToBytes = false
        /// The labels of each matched expect that has some (`probe_expect_info`).
        var expectLabels: [[String: String]] = []
    }

    /// The most bytes read while waiting for one expected reply; the pattern is matched within them.
    static let maxExpectBytes = 65_536

    let steps: [TCPStep]
    let tls: TLSClient?
    /// What the certificate must name (the target's host, or `--servername`).
    let host: String
    /// When each read must end (the read timeout from its start, capped by the run's deadline).
    let readDeadline: @Sendable () -> ContinuousClock.Instant
    /// Records the steps as blackbox's `query_response` (not Sonde's banner/send/expect parameters).
    let reportsSteps: Bool

    /// Talks over `descriptor`, a connected socket the conversation takes over (and closes).
    func run(over descriptor: Int32) async -> Result {
        var result = Result()
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).withConnectedSocket(descriptor) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        } catch {
            result.failure = "cannot take over the connection: \(error)"
            return result
        }
        let underlying = channel.channel
        do {
            try await withTaskCancellationHandler {
                try await channel.executeThenClose { inbound, outbound in
                    var reader = Reader(iterator: inbound.makeAsyncIterator(), channel: underlying)
                    var captures: [[UInt8]?] = []
                    for step in steps {
                        guard result.failure == nil, !Task.isCancelled else { break }
                        switch step {
                        case .startTLS:
                            await startTLS(on: underlying, &result)
                        case .banner(let limit):
                            let line = await reader.line(limit: limit, until: readDeadline())
                            result.banner = EscapedText.printable(Array((line ?? []).prefix(TCPAttempt.maxReportedBytes)))
                        case .send(let template, let substituting):
                            let bytes = substituting ? Self.substitute(captures, in: template) : template
                            if reportsSteps { result.steps.append(TCPStepResult(step: "send", text: Self.shown(bytes), ok: true)) }
                            do {
                                try await outbound.write(ByteBuffer(bytes: bytes))
                            } catch {
                                result.failure = "the connection closed before the send (\(error))"
                            }
                        case .expect(let regex, lineByLine: true, let labels):
                            let (match, last) = await reader.line(matching: regex, limit: Self.maxExpectBytes, until: readDeadline())
                            captures = match?.captures ?? []
                            result.steps.append(TCPStepResult(step: "expect", text: regex.pattern, ok: match != nil, received: Self.shown(last)))
                            if match == nil { fail(&result, regex, reader.ending) }
                            if match != nil, !labels.isEmpty {
                                var values: [String: String] = [:]
                                for label in labels { values[label.name] = Self.shown(Self.substitute(captures, in: label.template)) }
                                result.expectLabels.append(values)
                            }
                        case .expectBytes(let expected):
                            let received = await reader.bytes(count: expected.count, until: readDeadline())
                            let matched = received == expected
                            result.steps.append(
                                TCPStepResult(step: "expect-bytes", text: Self.shown(expected), ok: matched, received: Self.shown(received)))
                            if received.count < expected.count {
                                result.failure = "read \(received.count) of the \(expected.count) bytes expected (\(reader.ending))"
                            } else if !matched {
                                result.failedDueToBytes = true
                                result.failure = "the \(expected.count) bytes read are not the ones expected"
                            }
                        case .expect(let regex, lineByLine: false, _):
                            let bytes = await reader.bytes(matching: regex, limit: Self.maxExpectBytes, until: readDeadline())
                            let matched = regex.matches(bytes)
                            result.expect = ExpectResult(pattern: regex.pattern, matched: matched, received: Self.shown(bytes))
                        }
                    }
                }
            } onCancel: {
                underlying.close(promise: nil)
            }
        } catch {
            result.failure = result.failure ?? "the connection broke: \(error)"
        }
        return result
    }

    private func fail(_ result: inout Result, _ regex: SafeRegex, _ ending: String) {
        result.failedDueToRegex = true
        result.failure = "no line matched /\(regex.pattern)/ (\(ending))"
    }

    private func startTLS(on channel: any Channel, _ result: inout Result) async {
        guard let tls else { return }
        let started = ContinuousClock.now
        do {
            let handshake = try await TLSHandshake.install(tls.setup(for: host, isTarget: true), on: channel)
            let verdict = await handshake.verdict()
            result.tls = verdict.facts
            result.tlsTime = handshake.completedAt.map { $0 - started }
            if reportsSteps { result.steps.append(TCPStepResult(step: "starttls", ok: verdict.refusal == nil)) }
            if let refusal = verdict.refusal { result.failure = refusal }
        } catch {
            result.failure = "cannot start TLS: \(error)"
        }
    }

    /// `${N}` in `template` replaced by group N of the last match (nothing for a group that did not take part).
    static func substitute(_ captures: [[UInt8]?], in template: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = template.startIndex
        while index < template.endIndex {
            if template[index] == UInt8(ascii: "$"), index + 3 < template.endIndex, template[index + 1] == UInt8(ascii: "{") {
                let digits = template[(index + 2)...].prefix { (48...57).contains($0) }
                let close = index + 2 + digits.count
                if !digits.isEmpty, digits.count <= 2, close < template.endIndex, template[close] == UInt8(ascii: "}"),
                    let group = Int(String(decoding: digits, as: UTF8.self))
                {
                    if group < captures.count, let capture = captures[group] { output += capture }
                    index = close + 1
                    continue
                }
            }
            output.append(template[index])
            index += 1
        }
        return output
    }

    /// Bytes as an event shows them: at most 1 KiB, control characters escaped.
    static func shown(_ bytes: [UInt8]) -> String {
        EscapedText.printable(Array(bytes.prefix(TCPAttempt.maxReportedBytes)))
    }

    /// Reads from the channel with a deadline per read: the channel is closed when it passes (the conversation
    /// cannot go on after a timeout anyway), which ends the wait.
    struct Reader {
        var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let channel: any Channel
        /// Bytes read and not yet used.
        var pending: [UInt8] = []
        /// Why the last read stopped: `timed out`, `the server closed the connection`.
        var ending = ""
        private var closed = false

        init(iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, channel: any Channel) {
            self.iterator = iterator
            self.channel = channel
        }

        /// One more chunk into ``pending``; `false` at the end of the stream or the deadline.
        private mutating func fill(until deadline: ContinuousClock.Instant) async -> Bool {
            guard !closed else { return false }
            let timedOut = Atomic(false)
            let channel = channel
            let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(max(deadline - .now, .zero).inNanoseconds)) {
                timedOut.store(true, ordering: .relaxed)
                channel.close(promise: nil)
            }
            defer { timer.cancel() }
            let chunk: ByteBuffer?
            do {
                chunk = try await iterator.next()
            } catch {
                chunk = nil
            }
            guard let chunk else {
                closed = true
                ending = timedOut.load(ordering: .relaxed) ? "timed out" : "the server closed the connection"
                return false
            }
            pending += chunk.readableBytesView
            return true
        }

        /// The next line (without its CR LF), or the first `limit` bytes; what there is at the end or deadline.
        mutating func line(limit: Int, until deadline: ContinuousClock.Instant) async -> [UInt8]? {
            while !pending.prefix(limit).contains(10), pending.count < limit {
                guard await fill(until: deadline) else { break }
            }
            return take(limit: limit)
        }

        /// Reads lines until one matches (blackbox: a line left without its newline at the end counts too).
        /// Returns the match and the last line read.
        mutating func line(matching regex: SafeRegex, limit: Int, until deadline: ContinuousClock.Instant) async -> (SafeRegex.Match?, [UInt8]) {
            var read = 0
            var last: [UInt8] = []
            while read < limit {
                // A whole line, the rest at the end of the stream, or a line too long to wait for.
                if pending.contains(10) || (closed && !pending.isEmpty) || pending.count >= limit - read, let line = take(limit: limit - read) {
                    read += line.count + 1
                    last = line
                    if let match = regex.firstMatch(in: line) { return (match, line) }
                    continue
                }
                guard await fill(until: deadline) || !pending.isEmpty else { break }
            }
            if read >= limit { ending = "read \(limit) bytes without a match" }
            return (nil, last)
        }

        /// Reads until the bytes so far match, `limit` bytes, the end or the deadline. RE2 is linear, so matching the
        /// (bounded) bytes after each read is bounded too.
        mutating func bytes(matching regex: SafeRegex, limit: Int, until deadline: ContinuousClock.Instant) async -> [UInt8] {
            while pending.count < limit, !regex.matches(pending) {
                guard await fill(until: deadline) else { break }
            }
            defer { pending.removeAll() }
            return Array(pending.prefix(limit))
        }

        /// Exactly `count` bytes, or what there is at the end or the deadline.
        mutating func bytes(count: Int, until deadline: ContinuousClock.Instant) async -> [UInt8] {
            while pending.count < count {
                guard await fill(until: deadline) else { break }
            }
            let taken = Array(pending.prefix(count))
            pending.removeFirst(taken.count)
            return taken
        }

        /// The first line of ``pending`` (or its first `limit` bytes), without CR LF, removed from it.
        private mutating func take(limit: Int) -> [UInt8]? {
            guard !pending.isEmpty else { return nil }
            let end = pending.prefix(limit).firstIndex(of: 10)
            let line = Array(pending[..<(end ?? min(limit, pending.count))])
            pending.removeFirst(min(pending.count, end.map { $0 + 1 } ?? line.count))
            return line.last == 13 ? Array(line.dropLast()) : line
        }
    }
}
