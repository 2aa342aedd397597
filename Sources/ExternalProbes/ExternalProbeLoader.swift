import SondeCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Finds the external probes in a directory and asks each to describe itself.
///
/// Only what an attacker without root (or without the account Sonde runs as) cannot have planted is loaded:
/// the directory and every directory above it must belong to root, each file to root or to Sonde's own user
/// (never to the plug-in user), all writable by their owner only; files must be regular executables, not
/// symbolic links; hidden files are ignored. Each file is held open from its check on, and that file — not
/// whatever the path names later — is what runs, checked again before every run. Anything else is skipped
/// with a warning that says why. A probe whose `--describe` fails, hangs (5 s), or declares a kind already
/// taken is skipped the same way.
public enum ExternalProbeLoader {
    public struct Loaded: Sendable {
        public var probes: [ExternalProbe] = []
        /// One line per skipped file or problem, for the log or standard error.
        public var warnings: [String] = []
    }

    /// The directory used when none is configured (`--probes-dir`, `SONDE_PROBES_DIR`).
    public static let defaultDirectory = "/etc/sonde/probes.d"

    /// - Parameters:
    ///   - directory: where the executables are.
    ///   - reserved: kinds and command names already taken.
    ///   - required: whether a missing directory is a warning (configured explicitly) or silence (the default).
    public static func load(from directory: String, reserved: Set<String>, required: Bool) async -> Loaded {
        var loaded = Loaded()
        var info = stat()
        guard lstat(directory, &info) == 0 else {
            if required { loaded.warnings.append("external probes: cannot read \(directory): \(ErrorNumber.message(errno))") }
            return loaded
        }
        if let problem = trustProblem(info, isDirectory: true) ?? parentsProblem(of: directory) {
            loaded.warnings.append("external probes: ignoring \(directory): \(problem)")
            return loaded
        }
        ChildRegistry.adoptOrphans()
        var taken = reserved
        for name in entries(of: directory) {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            // Checked through the descriptor that will run it: no window between the check and the exec.
            guard case .success(let file) = PluginFile.open(path) else { continue }
            if let problem = file.trustProblem() {
                loaded.warnings.append("external probes: skipped \(path): \(problem)")
                continue
            }
            switch await describe(file, reserved: taken) {
            case .success(let probe):
                taken.insert(probe.descriptor.kind.rawValue)
                loaded.probes.append(probe)
            case .failure(let error):
                loaded.warnings.append("external probes: skipped \(path): \(error)")
            }
        }
        return loaded
    }

    /// Whether `directory` is a directory with at least one entry that is not hidden: there may be plug-ins to run.
    /// Cheap, and read nothing but the directory (it runs before the token is read).
    public static func mayHoldProbes(_ directory: String) -> Bool {
        !entries(of: directory).isEmpty
    }

    /// Why a file or directory may not be trusted, or `nil`.
    static func trustProblem(_ info: stat, isDirectory: Bool) -> String? {
        let type = info.st_mode & S_IFMT
        if isDirectory {
            guard type == S_IFDIR else { return "not a directory" }
        } else {
            if type == S_IFLNK { return "a symbolic link (put the executable itself in the directory)" }
            guard type == S_IFREG else { return "not a regular file" }
            guard info.st_mode & S_IXUSR != 0 else { return "not executable (chmod 755)" }
        }
        let owner = info.st_uid
        if isDirectory, owner != 0 {
            return "owned by uid \(owner): the probes directory must belong to root (chown root)"
        }
        guard owner == 0 || owner == geteuid() else {
            return "owned by uid \(owner): it must belong to root or to the user Sonde runs as (uid \(geteuid()))"
        }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else {
            return "writable by group or others (mode \(String(info.st_mode & 0o7777, radix: 8))): only its owner may write it (chmod go-w)"
        }
        return nil
    }

    /// Why a directory above the probes directory lets someone other than root replace it, or `nil`: each must
    /// belong to root and be writable by nobody else (or be sticky, like /tmp, where only an entry's owner may
    /// rename it).
    static func parentsProblem(of directory: String) -> String? {
        var components = directory.split(separator: "/").map(String.init)
        while !components.isEmpty {
            components.removeLast()
            let parent = "/" + components.joined(separator: "/")
            var info = stat()
            guard lstat(parent, &info) == 0 else { return "cannot check \(parent): \(ErrorNumber.message(errno))" }
            guard info.st_mode & S_IFMT == S_IFDIR else { return "\(parent) is not a directory (a symbolic link?)" }
            guard info.st_uid == 0 else { return "\(parent) belongs to uid \(info.st_uid): every directory above the probes must belong to root" }
            let writable = info.st_mode & (S_IWGRP | S_IWOTH) != 0
            let sticky = info.st_mode & S_ISVTX != 0
            guard !writable || sticky else {
                return "\(parent) is writable by group or others (mode \(String(info.st_mode & 0o7777, radix: 8))): the probes could be replaced"
            }
        }
        return nil
    }

    private static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }

    /// Runs `EXECUTABLE --describe` (5 s, 64 KiB) and turns its declaration into a probe.
    static func describe(_ file: PluginFile, reserved: Set<String>) async -> Result<ExternalProbe, DescriptionError> {
        var child = ChildProcess(path: file.path, file: file, arguments: ["--describe"])
        child.limits.outputBytes = 64 << 10
        var text = ""
        let result = await child.run(input: [], deadline: .now + .seconds(5)) { line in
            text += line + "\n"
            return .more
        }
        switch result {
        case .failure(let error) where error.code == ETXTBSY:
            return .failure(DescriptionError("cannot run it: the file is still open for writing (being copied?); restart Sonde once it is installed"))
        case .failure(let error):
            return .failure(DescriptionError("cannot run it: \(ErrorNumber.message(error.code))"))
        case .success(let outcome):
            switch outcome.ending {
            case .exited(let status) where status == 0: break
            case .exited(let status): return .failure(DescriptionError("--describe \(ExternalProbe.describe(status: status))"))
            case .deadline: return .failure(DescriptionError("--describe did not answer within 5 s"))
            case .overflow(let what), .refused(let what): return .failure(DescriptionError("--describe \(what)"))
            }
        }
        let description: ExternalProbeDescription
        do {
            description = try JSONDecoder().decode(ExternalProbeDescription.self, from: Data(text.utf8))
        } catch {
            return .failure(DescriptionError("--describe did not print a probe description (see Docs/external-probes.md): \(error)"))
        }
        do {
            let descriptor = try description.descriptor(reserved: reserved)
            return .success(ExternalProbe(descriptor: descriptor, file: file, targetAddress: description.targetAddress))
        } catch {
            return .failure(error)
        }
    }
}
