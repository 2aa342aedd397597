import SondeCore

/// What `/etc/resolv.conf` says, applied the way glibc's resolver applies it.
public struct ResolverConfiguration: Sendable, Equatable {
    /// At most three, as glibc uses; `127.0.0.1` when the file names none.
    public var nameservers: [String] = []
    public var search: [String] = []
    public var ndots = 1
    /// Seconds per query attempt.
    public var timeout = 5
    public var attempts = 2

    public init() {}

    /// Parses resolv.conf text: `nameserver`, `search` / `domain` (the last one wins), `options ndots: timeout:
    /// attempts:`. Unknown lines are ignored, as by glibc.
    public init(parsing text: String) {
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver" where words.count >= 2 && nameservers.count < 3:
                nameservers.append(String(words[1]))
            case "search":
                search = words.dropFirst().prefix(while: { !$0.hasPrefix("#") }).map(String.init)
            case "domain" where words.count >= 2:
                search = [String(words[1])]
            case "options":
                for option in words.dropFirst() {
                    let parts = option.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, let value = Int(parts[1]) else { continue }
                    switch parts[0] {
                    case "ndots": ndots = min(max(value, 0), 15)
                    case "timeout": timeout = min(max(value, 1), 30)
                    case "attempts": attempts = min(max(value, 1), 5)
                    default: break
                    }
                }
            default:
                continue
            }
        }
        if nameservers.isEmpty { nameservers = ["127.0.0.1"] }
    }

    /// `/etc/resolv.conf` of the namespace this process runs in.
    public static func system(path: String = "/etc/resolv.conf") -> ResolverConfiguration {
        let bytes = (try? SmallFile.contents(of: path, maxBytes: 65_536)) ?? []
        return ResolverConfiguration(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// The names to try for `name`, in order: a name ending in a dot is tried as it is; a name with at least
    /// `ndots` dots is tried as it is first, then with each search domain; any other name with each search
    /// domain first, then as it is. In a pod with `ndots:5`, `kubernetes.default` becomes
    /// `kubernetes.default.<ns>.svc.cluster.local.`, … and only last `kubernetes.default.`.
    public func candidates(for name: String) -> [String] {
        if name.hasSuffix(".") { return [name] }
        let absolute = name + "."
        let searched = search.map { domain in name + "." + (domain.hasSuffix(".") ? domain : domain + ".") }
        let dots = name.filter { $0 == "." }.count
        return dots >= ndots ? [absolute] + searched : searched + [absolute]
    }
}
