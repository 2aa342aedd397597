/// A diagnostic probe: something that runs against a target and reports what it found.
///
/// A probe streams typed events as they happen (`events` is called from any thread, in order) and returns a
/// report at the end. It honours task cancellation and ``ProbeContext/deadline`` by finishing early with the
/// report of what it saw, rather than by throwing. It throws ``ProbeError`` only when it cannot run at all.
///
/// Many runs of one probe value may be in flight at once; probes share their resources (such as the ICMP
/// sockets) between runs.
public protocol Probe: Sendable {
    associatedtype Event: ProbeEvent
    associatedtype Summary: ProbeSummary

    /// The one declaration of the probe's kind, summary and parameters.
    var descriptor: ProbeDescriptor { get }

    /// Runs the probe once against `request.target`.
    ///
    /// - Parameters:
    ///   - request: the target and parameters, already validated by ``ProbeDescriptor/validate(_:)``.
    ///   - context: limits and shared facilities the caller imposes (deadline, send pacing).
    ///   - events: receives each event as it happens.
    func run(
        _ request: ProbeRequest,
        context: ProbeContext,
        events: @escaping @Sendable (Event) -> Void
    ) async throws(ProbeError) -> ProbeReport<Summary>

    /// How this probe's events and report read as text, in the style its users already know.
    func textRenderer(options: TextRenderingOptions) -> any ProbeTextRenderer<Event, Summary>
}

/// One run's target and validated parameters.
public struct ProbeRequest: Sendable, Hashable {
    public var target: String
    public var parameters: ParameterValues

    public init(target: String, parameters: ParameterValues) {
        self.target = target
        self.parameters = parameters
    }
}

/// What the caller imposes on a run, beyond its parameters.
public struct ProbeContext: Sendable {
    /// The run must finish by then, whatever its parameters ask (e.g. an API request's deadline).
    public var deadline: ContinuousClock.Instant?
    /// Spaces sends across all runs that share it (fping's `-i`), when set.
    public var pacer: SendPacer?
    /// Which addresses the run may send to; `nil` means any (the local CLI).
    public var policy: AddressPolicy?
    /// The request's parameters of role ``ParameterSpec/Role/content`` that are in use (given, and not
    /// `false`): the policy decides whether they may go to the address the run reaches.
    public var contentParameters: [String]
    /// The most packets or attempts the run may send, whatever its parameters say (a server's limit: a
    /// deadline must not turn "count replies" into unbounded sends). `nil`: no cap beyond the parameters.
    public var maxSends: Int?
    /// The parameters came from the operator's own modules file (blackbox's `/probe`), not from the caller, so
    /// parameters of format ``ParameterSpec/TextFormat/filePath`` may be read even though a policy applies.
    public var readsOperatorFiles: Bool

    public init(
        deadline: ContinuousClock.Instant? = nil, pacer: SendPacer? = nil, policy: AddressPolicy? = nil,
        contentParameters: [String] = [], maxSends: Int? = nil, readsOperatorFiles: Bool = false
    ) {
        self.deadline = deadline
        self.pacer = pacer
        self.policy = policy
        self.contentParameters = contentParameters
        self.maxSends = maxSends
        self.readsOperatorFiles = readsOperatorFiles
    }

    /// `count` capped at ``maxSends``: what a run may send at most (`nil` when neither bounds it).
    public func sends(upTo count: Int?) -> Int? {
        switch (count, maxSends) {
        case (nil, nil): nil
        case (let value?, nil), (nil, let value?): value
        case (let first?, let second?): min(first, second)
        }
    }

    /// Probes call this with every address they are about to send to, after resolution.
    ///
    /// - Throws: ``ProbeError/Code/targetDenied`` when the policy refuses the address, or refuses content
    ///   exchange with it (``contentParameters`` towards one of this host's own addresses).
    public func authorize(_ address: IPAddress, target: String) throws(ProbeError) {
        guard let policy else { return }
        try policy.authorize(address, target: target)
        try policy.authorizeContent(contentParameters, to: address, target: target)
    }

    /// What a probe that sends to one address does first: the first address of `host` (the resolver's order,
    /// filtered by `family`), passed by ``authorize(_:target:)``, and how long the lookup took.
    ///
    /// - Throws: ``HostResolver/resolve(_:family:)``'s errors, `unresolvable_target` when no address is left,
    ///   and ``authorize(_:target:)``'s refusal.
    public func resolveAuthorized(_ host: String, family: FamilyPreference) async throws(ProbeError) -> (address: IPAddress, lookup: Duration) {
        let lookupStart = ContinuousClock.now
        guard let address = try await HostResolver.resolve(host, family: family).first else {
            throw ProbeError(.unresolvableTarget, "cannot resolve '\(host)': no address")
        }
        let lookup = ContinuousClock.now - lookupStart
        try authorize(address, target: host)
        return (address, lookup)
    }

    /// Waits for the turn of repetition `sequence` (1-based) of a run that starts one repetition every
    /// `interval` from `start`: until its due instant (absolute, so timer jitter does not accumulate), then for
    /// the shared ``pacer``'s slot.
    ///
    /// - Returns: `false` when the run must stop instead: the turn falls at or after `deadline`, or the task
    ///   is cancelled.
    public func waitForTurn(
        _ sequence: Int, from start: ContinuousClock.Instant, every interval: Duration, deadline: ContinuousClock.Instant?
    ) async -> Bool {
        let due = start + interval * (sequence - 1)
        if let deadline, due >= deadline { return false }
        if due > .now { try? await Task.sleep(until: due, tolerance: .zero, clock: .continuous) }
        if let pacer { await pacer.waitForSlot() }
        return !Task.isCancelled
    }

    /// The earlier of the caller's deadline and one the probe computed itself.
    public func deadline(orEarlier other: ContinuousClock.Instant?) -> ContinuousClock.Instant? {
        switch (deadline, other) {
        case (nil, nil): nil
        case (let value?, nil), (nil, let value?): value
        case (let first?, let second?): min(first, second)
        }
    }
}

/// An event a probe emits while it runs. It encodes as a flat JSON object whose `type` field names it.
public protocol ProbeEvent: Codable, Sendable {
    /// The event's type as written in its JSON `type` field, e.g. `reply` or `timeout`.
    var type: String { get }
}

/// The probe-specific statistics inside a report.
public protocol ProbeSummary: Codable, Sendable {}
