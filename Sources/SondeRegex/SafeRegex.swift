internal import CRE2

/// A regular expression that cannot blow up: RE2 syntax (the syntax of Go's `regexp`, which
/// blackbox_exporter uses), matched in time linear in the input with no backtracking, its compiled form
/// capped in memory.
///
/// Callers hand Sonde patterns; a backtracking engine lets one pattern such as `(a+)+$` pin a core on a few
/// dozen bytes. RE2 has no backreferences or look-around, which is what makes the guarantee possible.
///
/// ```swift
/// let regex = try SafeRegex("^\\+PONG")
/// regex.matches("+PONG\r\n".utf8)   // true
/// ```
public final class SafeRegex: @unchecked Sendable {
    // RE2 objects are immutable after compilation and documented as safe for concurrent matching.
    private let compiled: OpaquePointer
    /// The pattern as given.
    public let pattern: String
    /// Capturing groups in the pattern, not counting the whole match.
    public let groupCount: Int

    /// Most memory the compiled program of one pattern may take; a larger pattern is refused.
    public static let maxProgramBytes: Int64 = 1 << 20

    /// Compiles `pattern`.
    ///
    /// - Throws: ``SafeRegexError`` with RE2's reason when the pattern is not valid RE2 syntax or its
    ///   program would exceed ``maxProgramBytes``.
    public init(_ pattern: String, caseInsensitive: Bool = false) throws(SafeRegexError) {
        var message = [CChar](repeating: 0, count: 256)
        let length = pattern.utf8.count
        let result = pattern.withCString { text in
            sonde_re2_compile(text, length, Self.maxProgramBytes, caseInsensitive ? 1 : 0, &message, message.count)
        }
        guard let result else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw SafeRegexError(pattern: pattern, reason: reason.isEmpty ? "cannot be compiled" : reason)
        }
        compiled = result
        self.pattern = pattern
        groupCount = Int(sonde_re2_groups(result))
    }

    deinit { sonde_re2_free(compiled) }

    /// Whether the pattern matches anywhere in `bytes`.
    public func matches(_ bytes: some Collection<UInt8>) -> Bool {
        Self.withContiguous(bytes) { text in
            sonde_re2_search(compiled, text.baseAddress, text.count, nil, 0) == 1
        }
    }

    /// The first match in `bytes`, with the text of each capturing group (`nil` for a group that did not
    /// take part), or `nil` when there is none.
    public func firstMatch(in bytes: some Collection<UInt8>) -> Match? {
        var offsets = [Int64](repeating: -1, count: 2 * (groupCount + 1))
        let groups = Int32(groupCount)
        return Self.withContiguous(bytes) { text -> Match? in
            guard sonde_re2_search(compiled, text.baseAddress, text.count, &offsets, groups) == 1 else { return nil }
            var captures: [[UInt8]?] = []
            for index in 0...groupCount {
                let start = Int(offsets[2 * index])
                let end = Int(offsets[2 * index + 1])
                guard start >= 0, end >= start, end <= text.count else {
                    captures.append(nil)
                    continue
                }
                captures.append(text[start..<end].map { UInt8(bitPattern: $0) })
            }
            return Match(captures: captures)
        }
    }

    /// One match: the whole match first, then each group.
    public struct Match: Sendable, Equatable {
        /// Index 0 is the whole match; 1… the capturing groups.
        public var captures: [[UInt8]?]
        public var text: String { String(decoding: captures.first.flatMap { $0 } ?? [], as: UTF8.self) }
    }

    private static func withContiguous<R>(_ bytes: some Collection<UInt8>, _ body: (UnsafeBufferPointer<CChar>) -> R) -> R {
        // RE2 reports offsets from a non-null base, also for empty input.
        let array = bytes.isEmpty ? [0] : Array(bytes)
        return array.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { text in
                body(UnsafeBufferPointer(rebasing: text[0..<bytes.count]))
            }
        }
    }
}

/// A pattern RE2 refuses, with its reason.
public struct SafeRegexError: Error, Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    public let reason: String

    public var description: String { "invalid regular expression '\(pattern)': \(reason)" }
}
