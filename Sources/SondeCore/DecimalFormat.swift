#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Number formatting for text output, without Foundation's `String(format:)`.
public enum DecimalFormat {
    /// A scaled integer as a decimal: `fixed(1234, scale: 3)` → `1.234`.
    public static func fixed(_ value: Int, scale: Int) -> String {
        guard scale > 0 else { return String(value) }
        var divisor = 1
        for _ in 0..<scale { divisor *= 10 }
        let sign = value < 0 ? "-" : ""
        let magnitude = value.magnitude
        let fraction = String(magnitude % UInt(divisor))
        let padded = String(repeating: "0", count: scale - fraction.count) + fraction
        return "\(sign)\(magnitude / UInt(divisor)).\(padded)"
    }

    /// A number rounded half-up to `decimals` places: `rounded(0.1234, decimals: 2)` → `0.12`.
    public static func rounded(_ value: Double, decimals: Int) -> String {
        var factor = 1.0
        for _ in 0..<decimals { factor *= 10 }
        return fixed(Int((value * factor).rounded(.toNearestOrAwayFromZero)), scale: decimals)
    }

    /// Like C's `%g`: six significant digits, no trailing zeros (`66.6667`, `0`, `100`).
    public static func significant(_ value: Double, digits: Int = 6) -> String {
        guard value.isFinite else { return String(value) }
        if value == 0 { return "0" }
        let exponent = Int(log10(Swift.abs(value)).rounded(.down))
        let decimals = Swift.max(0, digits - 1 - exponent)
        var text = rounded(value, decimals: decimals)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// The shortest text that reads back as the same number, without a needless `.0`.
    public static func shortest(_ value: Double) -> String {
        if value == value.rounded(), Swift.abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }
}
