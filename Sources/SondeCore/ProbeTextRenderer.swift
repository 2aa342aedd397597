/// Turns a probe's events and report into the text its users already read (`ping`, `nc`, `dig` style).
public protocol ProbeTextRenderer<Event, Summary> {
    associatedtype Event: ProbeEvent
    associatedtype Summary: ProbeSummary

    /// Lines to print for one event, as it happens.
    func lines(for event: Event) -> [TextLine]
    /// Lines to print once the run is over.
    func lines(for report: ProbeReport<Summary>) -> [TextLine]
}

/// One line of text output and the stream it belongs on.
public struct TextLine: Sendable, Equatable {
    public enum Stream: Sendable { case standardOutput, standardError }
    public var text: String
    public var stream: Stream

    public init(_ text: String, stream: Stream = .standardOutput) {
        self.text = text
        self.stream = stream
    }
}

/// How the caller wants text shaped.
public struct TextRenderingOptions: Sendable {
    /// Only the header and the summary (`ping -q`).
    public var quiet: Bool
    /// Several targets run at once: one line per reply and one summary line per target (fping style),
    /// with target names padded to `targetWidth`.
    public var multiTarget: Bool
    public var targetWidth: Int
    /// A line for each request still unanswered at its timeout (`ping -O`: "no answer yet for icmp_seq=N").
    public var reportOutstanding: Bool
    /// Standard output is a terminal that may be redrawn in place (mtr's live table), and the caller did not ask
    /// for a report once at the end (`-r/--report`).
    public var live: Bool
    /// Columns as wide as the longest value, rather than a fixed width (mtr's `-w/--report-wide`).
    public var wide: Bool

    /// `name` padded to the width of the longest target, for aligned fping-style columns.
    public func padded(_ name: String) -> String {
        name.count >= targetWidth ? name : name + String(repeating: " ", count: targetWidth - name.count)
    }

    public init(
        quiet: Bool = false, multiTarget: Bool = false, targetWidth: Int = 0, reportOutstanding: Bool = false, live: Bool = false, wide: Bool = false
    ) {
        self.live = live
        self.wide = wide
        self.quiet = quiet
        self.multiTarget = multiTarget
        self.targetWidth = targetWidth
        self.reportOutstanding = reportOutstanding
    }
}
