import Foundation
import Testing

/// The real `sonde` binary, run as a user would run it.
enum Sonde {
    /// `sonde` sits next to the test bundle in the build folder.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["SONDE_BINARY"] { return path }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("sonde")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            directory = directory.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/sonde").path
    }()

    struct Run {
        var status: Int32
        var output: String
        var error: String

        /// `--json` output: one object per line.
        var objects: [[String: Any]] {
            output.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }

        func events(_ type: String) -> [[String: Any]] { objects.filter { $0["type"] as? String == type } }

        var report: [String: Any]? { events("report").last }

        var summary: [String: Any] { report?["summary"] as? [String: Any] ?? [:] }

        func count(_ key: String) -> Int { summary[key] as? Int ?? -1 }
    }

    /// Runs `sonde arguments…` inside `namespace`, optionally as another user via setpriv.
    static func run(_ arguments: [String], in namespace: String, asUser uid: Int? = nil, timeout: Double = 60) async throws -> Run {
        var command = ["ip", "netns", "exec", namespace]
        if let uid {
            command += ["setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all"]
        }
        command += [binary] + arguments
        let result = try await Shell.captureAsync(command, timeout: timeout)
        return Run(status: result.status, output: result.output, error: result.error)
    }
}
