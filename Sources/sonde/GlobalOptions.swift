import SondePrivileges

#if canImport(Glibc)
    import Glibc
#endif

/// Options every `sonde` command takes, read before anything else happens (the privilege drop needs them
/// while the process is still single-threaded).
struct GlobalOptions {
    /// `--user NAME|UID[:GID]`: the account to switch to when started as root.
    var user: UnprivilegedUser?
    /// `--plugin-user NAME|UID[:GID]`: the account external probes run as when Sonde starts as root.
    var pluginUser: UnprivilegedUser?
    /// `-v` / `--verbose`: report the privileges and ICMP socket mode on standard error.
    var verbose = false
    /// `--probes-dir DIR` (or `SONDE_PROBES_DIR`): where external probes are; default /etc/sonde/probes.d.
    var probesDirectory: String?
    /// `--agent http://HOST:PORT` (or `SONDE_AGENT`): run the probe on that agent, not here.
    var agent: String?

    static let help: [(spelling: String, summary: String)] = [
        ("--user <name|uid[:gid]>", "Account to run as when started as root (default: nobody); only CAP_NET_RAW is kept"),
        ("--plugin-user <name|uid[:gid]>", "Account external probes run as when started as root (default: 65533:65533); it must differ from --user"),
        ("-v, --verbose", "Report uid/gid, capabilities, NoNewPrivs and the ICMP socket mode on standard error"),
        ("--probes-dir <dir>", "External probes to load (default /etc/sonde/probes.d if it exists; or SONDE_PROBES_DIR)"),
        (
            "--agent <url>",
            "Run the probe on the sidecar at http://HOST:PORT, or through a gateway at http://GW:PORT/v1/agents/POD-IP (token from SONDE_TOKEN)"
        ),
    ]

    /// Removes the global options from `arguments` and returns them.
    static func extract(from arguments: inout [String]) throws(GlobalOptionError) -> GlobalOptions {
        var options = GlobalOptions()
        if let directory = getenv("SONDE_PROBES_DIR") { options.probesDirectory = String(cString: directory) }
        if let agent = getenv("SONDE_AGENT") { options.agent = String(cString: agent) }
        var remaining: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                remaining += arguments[index...]
                break
            }
            if argument == "-v" || argument == "--verbose" {
                options.verbose = true
            } else if argument == "--user" {
                index += 1
                guard index < arguments.count else { throw GlobalOptionError(PrivilegeError.invalidUser("")) }
                options.user = try GlobalOptionError.wrap { () throws(PrivilegeError) in try UnprivilegedUser(arguments[index]) }
            } else if argument == "--plugin-user" {
                index += 1
                guard index < arguments.count else { throw GlobalOptionError(PrivilegeError.invalidUser("", option: "--plugin-user")) }
                options.pluginUser = try GlobalOptionError.wrap { () throws(PrivilegeError) in
                    try UnprivilegedUser(arguments[index], option: "--plugin-user")
                }
            } else if argument.hasPrefix("--plugin-user=") {
                options.pluginUser = try GlobalOptionError.wrap { () throws(PrivilegeError) in
                    try UnprivilegedUser(String(argument.dropFirst("--plugin-user=".count)), option: "--plugin-user")
                }
            } else if argument == "--probes-dir" {
                index += 1
                guard index < arguments.count else { throw GlobalOptionError(description: "option --probes-dir needs a value: a directory") }
                options.probesDirectory = arguments[index]
            } else if argument == "--agent" {
                index += 1
                guard index < arguments.count else { throw GlobalOptionError(description: "option --agent needs a value: http://HOST:PORT") }
                options.agent = arguments[index]
            } else if argument.hasPrefix("--agent=") {
                options.agent = String(argument.dropFirst("--agent=".count))
            } else if argument.hasPrefix("--probes-dir=") {
                options.probesDirectory = String(argument.dropFirst("--probes-dir=".count))
            } else if argument.hasPrefix("--user=") {
                options.user = try GlobalOptionError.wrap { () throws(PrivilegeError) in
                    try UnprivilegedUser(String(argument.dropFirst("--user=".count)))
                }
            } else {
                remaining.append(argument)
            }
            index += 1
        }
        arguments = remaining
        return options
    }
}

/// A global option refused, with the message to print.
struct GlobalOptionError: Error, CustomStringConvertible {
    let description: String

    init(description: String) { self.description = description }
    init(_ error: PrivilegeError) { description = error.description }

    static func wrap<T>(_ body: () throws(PrivilegeError) -> T) throws(GlobalOptionError) -> T {
        do { return try body() } catch { throw GlobalOptionError(error) }
    }
}
