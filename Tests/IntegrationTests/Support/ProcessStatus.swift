import Foundation

/// What a running process holds, from `/proc`: the fields of `status` (`Uid`, `CapEff`, `NoNewPrivs`, …) for the
/// process and for each of its threads.
enum ProcessStatus {
    /// The fields of one `status` file, values trimmed (`Uid` → `65534\t65534\t65534\t65534`); empty if unreadable.
    static func fields(atPath path: String) -> [String: String] {
        let status = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var fields: [String: String] = [:]
        for line in status.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return fields
    }

    /// The fields of the process `pid`.
    static func process(_ pid: pid_t) -> [String: String] { fields(atPath: "/proc/\(pid)/status") }

    /// The fields of every thread of `pid`, with the thread's id.
    static func threads(of pid: pid_t) throws -> [(task: String, fields: [String: String])] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").sorted().map { task in
            (task, fields(atPath: "/proc/\(pid)/task/\(task)/status"))
        }
    }
}
