/// DNS host names as targets, URLs and SNI carry them.
public enum HostName {
    /// Labels of letters, digits, `-` and `_`, each 1–63 bytes, at most 253 in all; one trailing dot allowed.
    public static func isValid(_ text: some StringProtocol) -> Bool {
        let name = text.hasSuffix(".") ? text.dropLast() : text[...]
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.utf8.count)
                && label.utf8.allSatisfy { byte in
                    (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte) || byte == 0x2d || byte == 0x5f
                }
        }
    }
}
