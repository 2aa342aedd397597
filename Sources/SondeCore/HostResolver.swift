import Dispatch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which address family a caller will accept for a host name (`-4`, `-6`, or either).
public enum FamilyPreference: String, Sendable, Codable, CaseIterable {
    case any
    case ipv4
    case ipv6
    /// Either family, the preferred one first (blackbox's `preferred_ip_protocol` with `ip_protocol_fallback`).
    case preferIPv4 = "prefer-ipv4"
    case preferIPv6 = "prefer-ipv6"

    /// The parameter every address-based probe declares for it, with `-4` and `-6` as flags.
    public static let parameter = ParameterSpec(
        "family",
        .choice(allCases.map(\.rawValue)),
        default: .string(FamilyPreference.any.rawValue),
        summary: "Address family to use for a host name (-4: IPv4 only, -6: IPv6 only; prefer-ipv4/prefer-ipv6: that one first)",
        cli: .init(flags: [.init("-4", sets: .string("ipv4")), .init("-6", sets: .string("ipv6"))])
    )

    /// The preference a request's ``parameter`` value names (`any` when it names none).
    public init(_ values: ParameterValues) {
        self = FamilyPreference(rawValue: values.string(Self.parameter.name) ?? "any") ?? .any
    }

    func accepts(_ family: AddressFamily) -> Bool {
        switch self {
        case .any, .preferIPv4, .preferIPv6: true
        case .ipv4: family == .ipv4
        case .ipv6: family == .ipv6
        }
    }

    /// The family put first, for the two preferences.
    var preferred: AddressFamily? {
        switch self {
        case .preferIPv4: .ipv4
        case .preferIPv6: .ipv6
        case .any, .ipv4, .ipv6: nil
        }
    }
}

/// Resolves host names with the system resolver (`getaddrinfo`: /etc/hosts, DNS per nsswitch).
///
/// Literal addresses never touch the resolver. Lookups run off the Swift concurrency pool, so a slow DNS
/// server cannot starve other probes.
public enum HostResolver {
    /// The addresses of `host` in the system's preferred order, filtered by `family`.
    ///
    /// - Throws: ``ProbeError`` `unresolvable_target` when the name has no usable address,
    ///   `invalid_target` when a literal address contradicts `family`.
    public static func resolve(_ host: String, family: FamilyPreference) async throws(ProbeError) -> [IPAddress] {
        guard !host.isEmpty, host.utf8.count <= 253 + 1 + 16 else {
            throw ProbeError(.invalidTarget, "invalid target '\(host)': expected a host name or an IP address")
        }
        if let literal = IPAddress(host) {
            guard family.accepts(literal.family) else {
                throw ProbeError(
                    .invalidTarget,
                    "'\(host)' is an \(literal.family == .ipv4 ? "IPv4" : "IPv6") address, but \(family.rawValue) was requested"
                )
            }
            return [literal]
        }
        if host.contains("%") || host.contains(":") {
            throw ProbeError(
                .invalidTarget,
                "invalid target '\(host)': not a valid IP address (IPv6 zones must name an existing interface)"
            )
        }
        // Answered here, without asking any server: a name whose last label is all digits is a mistyped
        // address (RFC 1123 §2.1), and `.invalid` names never resolve (RFC 6761 §6.4).
        let labels = host.lowercased().split(separator: ".")
        if let last = labels.last, last.allSatisfy(\.isASCII), last.allSatisfy(\.isNumber) {
            throw ProbeError(.invalidTarget, "invalid target '\(host)': not a valid IPv4 address, and a host name cannot end in a number")
        }
        if labels.last == "invalid" {
            throw ProbeError(.unresolvableTarget, "cannot resolve '\(host)': names under .invalid never resolve (RFC 6761)")
        }
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<LookupOutcome, Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: lookUp(host, family: family))
            }
        }
        switch outcome {
        case .addresses(let addresses) where !addresses.isEmpty:
            guard let preferred = family.preferred else { return addresses }
            return addresses.filter { $0.family == preferred } + addresses.filter { $0.family != preferred }
        case .addresses:
            let wanted = family == .ipv4 ? " IPv4" : family == .ipv6 ? " IPv6" : ""
            throw ProbeError(.unresolvableTarget, "cannot resolve '\(host)': no\(wanted) address")
        case .failure(let reason):
            throw ProbeError(.unresolvableTarget, "cannot resolve '\(host)': \(reason)")
        }
    }

    private enum LookupOutcome: Sendable {
        case addresses([IPAddress])
        case failure(String)
    }

    private static func lookUp(_ host: String, family: FamilyPreference) -> LookupOutcome {
        var hints = addrinfo()
        hints.ai_family =
            switch family {
            case .any, .preferIPv4, .preferIPv6: AF_UNSPEC
            case .ipv4: AF_INET
            case .ipv6: AF_INET6
            }
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        #else
            hints.ai_socktype = SOCK_DGRAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            if status == EAI_SYSTEM { return .failure(String(cString: strerror(errno))) }
            return .failure(String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var entry = list
        while let current = entry {
            if let socketAddress = current.pointee.ai_addr {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { target in
                    target.copyMemory(
                        from: UnsafeRawBufferPointer(start: socketAddress, count: Int(current.pointee.ai_addrlen))
                    )
                }
                if let address = IPAddress(storage), family.accepts(address.family), !addresses.contains(address) {
                    addresses.append(address)
                }
            }
            entry = current.pointee.ai_next
        }
        return .addresses(addresses)
    }
}
