/// Which addresses a probe may send to: an allow list and a deny list of networks, checked against every
/// address a run actually probes, after name resolution.
///
/// Checking the resolved address (not the name) is what closes DNS rebinding: a name that resolves into a
/// denied network is denied, however it was spelled. IPv4-mapped IPv6 addresses are checked as the IPv4
/// address they reach. Deny wins over allow.
public struct AddressPolicy: Sendable, Equatable {
    /// A network with the reason it is listed, for messages and documentation.
    public struct Entry: Sendable, Equatable, CustomStringConvertible {
        public var network: IPNetwork
        public var reason: String?

        public init(_ network: IPNetwork, reason: String? = nil) {
            self.network = network
            self.reason = reason
        }

        public var description: String { reason.map { "\(network) (\($0))" } ?? network.description }

        /// An IPv4-mapped network (`::ffff:10.0.0.0/104`) as the IPv4 network it stands for, which is what
        /// addresses are compared against.
        var normalized: Entry {
            guard network.address.family == .ipv6, network.prefixLength >= 96, case .v4(let v4) = network.address.unmapped
            else { return self }
            return Entry(IPNetwork(address: .v4(v4), prefixLength: network.prefixLength - 96), reason: reason)
        }
    }

    /// When empty, every address not denied is allowed.
    public var allow: [Entry]
    public var deny: [Entry]

    /// Whether payloads and returned content (``ParameterSpec/Role/content``) may go to this host's own
    /// addresses: loopback and every address assigned to an interface here. Off by default: a sidecar would
    /// otherwise hand any caller the pod's loopback-only admin pages, caches and proxy consoles.
    public var allowLocalContent: Bool

    public init(allow: [Entry] = [], deny: [Entry] = AddressPolicy.defaultDeny, allowLocalContent: Bool = false) {
        self.allow = allow.map(\.normalized)
        self.deny = deny.map(\.normalized)
        self.allowLocalContent = allowLocalContent
    }

    /// Cloud instance-metadata and platform endpoints (the classic SSRF prizes), and the unspecified
    /// addresses, which the kernel treats as this host.
    public static let defaultDeny: [Entry] = [
        ("169.254.169.254/32", "cloud instance metadata: AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle"),
        ("fd00:ec2::254/128", "AWS instance metadata over IPv6"),
        ("169.254.170.2/32", "AWS ECS task metadata and credentials"),
        ("169.254.170.23/32", "AWS EKS pod identity credentials"),
        ("fd00:ec2::23/128", "AWS EKS pod identity credentials over IPv6"),
        ("100.100.100.200/32", "Alibaba Cloud instance metadata"),
        ("168.63.129.16/32", "Azure WireServer"),
        ("192.0.0.192/32", "Oracle Cloud instance metadata"),
        ("0.0.0.0/8", "unspecified: reaches this host"),
        ("::/128", "unspecified: reaches this host"),
    ].compactMap { text, reason in IPNetwork(text).map { Entry($0, reason: reason) } }

    /// The entry that denies `address`, or `nil` when it may be probed.
    ///
    /// An IPv6 address that carries an IPv4 address the network delivers to (mapped, compatible, NAT64,
    /// 6to4, Teredo: ``IPAddress/embeddedIPv4``) is judged by both: denied when either is denied, and with
    /// an allow list, allowed only when every one of them is allowed.
    public func refusal(of address: IPAddress) -> Entry? {
        let checked = address.unmapped
        let candidates = [checked] + checked.embeddedIPv4.map(IPAddress.v4)
        for candidate in candidates {
            if let denied = deny.first(where: { $0.network.contains(candidate) }) { return denied }
        }
        if !allow.isEmpty {
            for candidate in candidates where !allow.contains(where: { $0.network.contains(candidate) }) {
                return Entry(IPNetwork(address: candidate, prefixLength: candidate.family == .ipv4 ? 32 : 128), reason: "not in the allow list")
            }
        }
        return nil
    }

    /// Throws ``ProbeError/Code/targetDenied`` when `parameters` (of role content) are in use and `address`
    /// is one of this host's own, unless ``allowLocalContent``.
    public func authorizeContent(_ parameters: [String], to address: IPAddress, target: String) throws(ProbeError) {
        guard !parameters.isEmpty, !allowLocalContent, address.isThisHost else { return }
        let resolved = target == address.description ? "" : " (resolved to \(address))"
        throw ProbeError(
            .targetDenied,
            "\(parameters.joined(separator: ", ")) towards '\(target)'\(resolved) is refused: it is an address of this "
                + "host, and sending payloads to or reading content from this host's own services is off "
                + "(the operator can allow it with --allow-local-content); probe it without \(parameters.joined(separator: ", "))"
        )
    }

    /// Throws ``ProbeError/Code/targetDenied`` when `address` (what `target` resolved to) may not be probed.
    public func authorize(_ address: IPAddress, target: String) throws(ProbeError) {
        guard let refusal = refusal(of: address) else { return }
        let resolved = target == address.description ? "" : " (resolved to \(address))"
        let why =
            refusal.reason == "not in the allow list"
            ? "it is not in the allow list (\(allow.map(\.network.description).joined(separator: ", ")))"
            : "it is in the denied network \(refusal)"
        throw ProbeError(.targetDenied, "target '\(target)'\(resolved) is denied by this server's policy: \(why)")
    }
}
