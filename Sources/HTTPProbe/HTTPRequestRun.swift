import SondeCore
import SondeRegex
import SondeTLS

/// One request of a run, through its redirect hops: resolve, check the policy, connect, exchange, follow.
struct HTTPRequestRun {
    let plan: HTTPPlan
    let context: ProbeContext
    /// Made once per run when https may be spoken (the target, or a redirect).
    let tls: TLSClient?
    let target: String
    let seq: Int
    let events: @Sendable (HTTPEvent) -> Void

    /// What the request ended with.
    struct Outcome {
        var firstAddress: IPAddress?
        var status: Int?
        var httpVersion: String?
        var bodyBytes: Int?
        var contentLength: Int?
        var redirects = 0
        /// Summed over the hops.
        var phases = HTTPPhases(resolveMs: 0, totalMs: 0)
        var succeeded = false
        var failedDueToRegex = false
        /// The failure's outcome, when no final answer came.
        var failure: String?
        /// The final hop's TLS, when it was https.
        var tls: TLSFacts?
    }

    init(
        plan: HTTPPlan, context: ProbeContext, tls: TLSClient?, target: String, seq: Int, events: @escaping @Sendable (HTTPEvent) -> Void
    ) {
        self.plan = plan
        self.context = context
        self.tls = tls
        self.target = target
        self.seq = seq
        self.events = events
    }

    /// Runs the request; throws only when its first hop is refused by the policy (the request cannot run at all).
    mutating func run(until runDeadline: ContinuousClock.Instant?) async throws(ProbeError) -> Outcome {
        var outcome = Outcome()
        var url = plan.target
        var method = plan.method
        var body = plan.body
        var visited: Set<String> = [url.description]
        let start = ContinuousClock.now
        let deadline = min(start + plan.maxTime, runDeadline ?? .now + plan.maxTime)
        for hop in 0...plan.maxRedirects {
            func fail(_ failureOutcome: String, _ message: String, phases: HTTPPhases? = nil) -> Outcome {
                var event = HTTPEvent("failure", target: target, seq: seq, hop: hop, url: url.description)
                event.outcome = failureOutcome
                event.message = message
                event.phases = phases
                events(event)
                outcome.failure = failureOutcome
                // No final answer: an earlier hop's redirect status is not the request's.
                outcome.status = nil
                outcome.httpVersion = nil
                if let phases { outcome.phases = outcome.phases.adding(phases) }
                return outcome
            }
            // Resolve (or not: an address, a --resolve override) where the connection goes: the URL's host, or
            // --connect-to's for it.
            let (connectHost, connectPort) = plan.connection(for: url)
            let address: IPAddress
            var resolveTime = Duration.zero
            var resolved = HTTPEvent("resolved", target: target, seq: seq, hop: hop, url: url.description)
            resolved.host = connectHost
            if let fixed = plan.override(host: connectHost, port: connectPort) ?? IPAddress(connectHost) {
                address = fixed
                resolved.addresses = [fixed.description]
            } else {
                do throws(ProbeError) {
                    let lookupStart = ContinuousClock.now
                    let addresses = try await HostResolver.resolve(connectHost, family: plan.family)
                    resolveTime = ContinuousClock.now - lookupStart
                    guard let first = addresses.first else { throw ProbeError(.unresolvableTarget, "cannot resolve '\(connectHost)': no address") }
                    address = first
                    resolved.addresses = addresses.map(\.description)
                } catch {
                    if hop == 0 { throw error }
                    return fail("unresolvable", error.message)
                }
            }
            resolved.timeMs = resolveTime.inMilliseconds
            events(resolved)
            // Every hop's address passes the policy; a redirect into a denied network ends the request.
            do {
                try context.authorize(address, target: connectHost)
            } catch {
                if hop == 0 { throw error }
                return fail("denied", "the redirect to \(url) was not followed: \(error.message)")
            }
            if hop == 0 { outcome.firstAddress = address }
            let encryption = url.scheme == .https ? tls?.setup(for: url.host, isTarget: url.host == plan.target.host) : nil
            // Never plaintext to an https URL (the run makes its TLS client whenever https may be spoken).
            if url.scheme == .https, encryption == nil { return fail("tls", "no TLS client for \(url)") }
            let record = HTTPExchange.TLSRecord()
            let (timings, result) = await HTTPExchange.run(
                HTTPExchange.Request(
                    target: url, address: address, port: connectPort, method: method, headers: plan.headers, body: body,
                    connectTimeout: plan.connectTimeout,
                    deadline: deadline, maxBody: plan.maxBody, keptBody: HTTPPlan.matchedBodyBytes,
                    tls: encryption, offersHTTP2: plan.offersHTTP2, decoding: plan.decoding, followsRedirects: plan.followRedirects),
                tlsRecord: record)
            if let connected = timings.connected {
                var event = HTTPEvent("connected", target: target, seq: seq, hop: hop, url: url.description)
                event.address = address.description
                event.port = Int(connectPort)
                event.timeMs = (connected - timings.connectStart).inMilliseconds
                events(event)
            }
            let tlsFacts = record.facts
            if let tlsFacts {
                var event = HTTPEvent("tls", target: target, seq: seq, hop: hop, url: url.description)
                event.tls = tlsFacts
                event.timeMs = timings.tlsDone.flatMap { done in timings.connected.map { (done - $0).inMilliseconds } }
                events(event)
            }
            outcome.tls = tlsFacts
            let phases = Self.phases(resolve: resolveTime, timings: timings)
            let response: HTTPExchange.Response
            switch result {
            case .failure(let failure): return fail(failure.outcome.rawValue, failure.message, phases: phases)
            case .success(let answer): response = answer
            }
            outcome.phases = outcome.phases.adding(phases)
            var event = HTTPEvent("response", target: target, seq: seq, hop: hop, url: url.description)
            event.httpVersion = response.version
            event.status = response.status
            event.reason = response.reason
            event.bodyBytes = response.bodyBytes
            event.contentCoding = response.coding?.rawValue
            event.encodedBytes = response.encodedBytes
            event.phases = phases
            if mayShowContent(from: address) { event.headers = response.headers.map { HTTPHeaderField(name: $0.name, value: $0.value) } }
            outcome.status = response.status
            outcome.httpVersion = response.version
            outcome.bodyBytes = response.bodyBytes
            outcome.contentLength = response.header("Content-Length").flatMap { Int($0) }

            if plan.followRedirects, [301, 302, 303, 307, 308].contains(response.status), let location = response.header("Location") {
                events(event)
                guard hop < plan.maxRedirects else {
                    return fail("too_many_redirects", "more than \(plan.maxRedirects) redirects (--max-redirs)")
                }
                let next: HTTPTarget
                do {
                    next = try url.resolving(location)
                } catch {
                    return fail("bad_redirect", error.message)
                }
                guard visited.insert(next.description).inserted else {
                    return fail("redirect_loop", "redirect loop: \(next) was visited already")
                }
                var redirect = HTTPEvent("redirect", target: target, seq: seq, hop: hop, url: url.description)
                redirect.status = response.status
                redirect.location = next.description
                events(redirect)
                // As curl and browsers: 303 turns any method into GET; 301 and 302 turn POST into GET.
                if response.status == 303 && method != "HEAD" || [301, 302].contains(response.status) && method == "POST" {
                    method = "GET"
                    body = []
                }
                outcome.redirects += 1
                url = next
                continue
            }
            let failures = expectationFailures(response, url: url, tls: tlsFacts)
            outcome.failedDueToRegex = failures.contains { $0.regex }
            outcome.succeeded = failures.isEmpty
            event.success = failures.isEmpty
            event.failures = failures.isEmpty ? nil : failures.map(\.text)
            events(event)
            return outcome
        }
        return outcome
    }

    /// Headers and body-derived facts come back from this host's own addresses only where the sidecar allows
    /// local content (the CLI has no policy and shows everything).
    private func mayShowContent(from address: IPAddress) -> Bool {
        guard let policy = context.policy else { return true }
        return policy.allowLocalContent || !address.isThisHost
    }

    private func expectationFailures(_ response: HTTPExchange.Response, url: HTTPTarget, tls: TLSFacts?) -> [(text: String, regex: Bool)] {
        var failures: [(text: String, regex: Bool)] = []
        if plan.requireTLS, url.scheme != .https { failures.append(("the final answer came over plain http (--require-tls)", false)) }
        if let minimum = plan.tls.minDaysLeft, let problem = tls?.expiresTooSoon(minimumDays: minimum) { failures.append((problem, false)) }
        if !plan.expectStatus.contains(response.status) {
            failures.append(("status \(response.status) is not in \(plan.expectStatus)", false))
        }
        // A body that cannot be decoded is not checked (as blackbox: its patterns are not run).
        if let problem = response.decodingFailure { failures.append((problem, false)) }
        let body = response.decodingFailure == nil ? response.body : nil
        for pattern in plan.expectBodies where body.map({ !pattern.matches($0) }) ?? false {
            failures.append(("the body does not match /\(pattern.pattern)/", true))
        }
        for pattern in plan.failBodies where body.map({ pattern.matches($0) }) ?? false {
            failures.append(("the body matches /\(pattern.pattern)/ (--fail-body)", true))
        }
        for (required, checks) in [(true, plan.expectHeaders), (false, plan.expectHeadersIfPresent)] {
            for (name, pattern) in checks {
                if let value = response.header(name) {
                    if !pattern.matches(Array(value.utf8)) { failures.append(("the header \(name) does not match /\(pattern.pattern)/", true)) }
                } else if required {
                    failures.append(("no \(name) header", true))
                }
            }
        }
        for (name, pattern) in plan.failHeaders {
            if let value = response.header(name), pattern.matches(Array(value.utf8)) {
                failures.append(("the header \(name) matches /\(pattern.pattern)/ (--fail-header)", true))
            }
        }
        if plan.failIfTLS, url.scheme == .https { failures.append(("the final answer came over https (--fail-if-tls)", false)) }
        if let versions = plan.expectVersions, !versions.contains(response.version) {
            failures.append(("\(response.version) is not among \(versions.sorted().joined(separator: ", ")) (--expect-version)", false))
        }
        return failures
    }

    private static func phases(resolve: Duration, timings: HTTPExchange.Timings) -> HTTPPhases {
        let end = timings.end ?? .now
        let connect = timings.connected.map { ($0 - timings.connectStart).inMilliseconds }
        let tls = timings.tlsDone.flatMap { done in timings.connected.map { (done - $0).inMilliseconds } }
        let processing = timings.firstByte.map { first in
            (first - (timings.requestSent ?? timings.tlsDone ?? timings.connected ?? first)).inMilliseconds
        }
        let transfer = timings.firstByte.map { (end - $0).inMilliseconds }
        // The sum of the phases: the network's and the server's time, not Sonde's own set-up and checks.
        let total = resolve.inMilliseconds + [connect, tls, processing, transfer].compactMap { $0 }.reduce(0, +)
        return HTTPPhases(
            resolveMs: resolve.inMilliseconds, connectMs: connect, tlsMs: tls, processingMs: processing, transferMs: transfer,
            totalMs: HTTPPhases.microseconds(total))
    }
}

extension Duration {
    var inMilliseconds: Double { Double(inMicroseconds) / 1000 }
}
