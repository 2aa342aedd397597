import SondePrivileges

/// Options every `sonde` command takes, read before anything else happens (the privilege drop needs them
/// while the process is still single-threaded).
struct GlobalOptions {
    /// `--user NAME|UID[:GID]`: the account to switch to when started as root.
    var user: UnprivilegedUser?
    /// `-v` / `--verbose`: report the privileges and ICMP socket mode on standard error.
    var verbose = false

    static let help: [(spelling: String, summary: String)] = [
        ("--user <name|uid[:gid]>", "Account to run as when started as root (default: nobody); only CAP_NET_RAW is kept"),
        ("-v, --verbose", "Report uid/gid, capabilities, NoNewPrivs and the ICMP socket mode on standard error"),
    ]

    /// Removes the global options from `arguments` and returns them.
    static func extract(from arguments: inout [String]) throws(PrivilegeError) -> GlobalOptions {
        var options = GlobalOptions()
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
                guard index < arguments.count else { throw .invalidUser("") }
                options.user = try UnprivilegedUser(arguments[index])
            } else if argument.hasPrefix("--user=") {
                options.user = try UnprivilegedUser(String(argument.dropFirst("--user=".count)))
            } else {
                remaining.append(argument)
            }
            index += 1
        }
        arguments = remaining
        return options
    }
}
