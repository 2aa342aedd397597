/// Bytes as a probe's parameters write them and as its reports show them: `--send` text with escapes becomes bytes,
/// and received bytes become text that is safe to print (TCP, UDP).
public enum EscapedText {
    /// `\r`, `\n`, `\t`, `\\` and `\xHH` in text, as bytes; any other escaped character stands for itself, and `\x` without two
    /// hex digits stays as written.
    public static func bytes(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "\\"), let next = iterator.popFirst() else {
                bytes.append(byte)
                continue
            }
            switch next {
            case UInt8(ascii: "r"): bytes.append(13)
            case UInt8(ascii: "n"): bytes.append(10)
            case UInt8(ascii: "t"): bytes.append(9)
            case UInt8(ascii: "x"):
                let digits = iterator.prefix(2)
                if digits.count == 2, let value = UInt8(String(decoding: digits, as: UTF8.self), radix: 16) {
                    bytes.append(value)
                    iterator = iterator.dropFirst(2)
                } else {
                    bytes += [UInt8(ascii: "\\"), next]
                }
            default: bytes.append(next)
            }
        }
        return bytes
    }

    /// Text safe to print: valid UTF-8 kept, control characters other than tab escaped, no trailing CR.
    public static func printable(_ bytes: [UInt8]) -> String {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasSuffix("\r") { text.removeLast() }
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control, scalar != "\t" {
                result += scalar == "\n" ? "\\n" : scalar == "\r" ? "\\r" : "\\x" + String(scalar.value, radix: 16)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
