import Foundation

/// Progress of long work on standard error: a bar with the rate and the time left on a
/// terminal; on anything else a plain line at most every few seconds, so logs stay readable.
final class ProgressReporter {
    private let label: String
    private let total: Double
    private let unit: String
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let started = ContinuousClock.now
    private var lastReport = ContinuousClock.now
    private var printedBar = false

    /// `total` is in the same units as `update`'s `done`; `unit` names what the rate counts.
    init(_ label: String, total: Double, unit: String) {
        self.label = label
        self.total = max(total, 1)
        self.unit = unit
    }

    /// Reports `done` of `total`, with `count` of `unit` so far for the rate.
    func update(done: Double, count: Int) {
        let now = ContinuousClock.now
        guard now - lastReport >= (isTerminal ? .milliseconds(100) : .seconds(5)) else { return }
        lastReport = now
        let elapsed = Self.seconds(now - started)
        let fraction = min(1, done / total)
        let rate = elapsed > 0 ? Double(count) / elapsed : 0
        let remaining = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
        if isTerminal {
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            write(
                "\r\(label) \(bar) \(Int(fraction * 100))%  \(Self.grouped(count)) \(unit), \(Self.grouped(Int(rate)))/s, \(Int(remaining.rounded())) s left  "
            )
            printedBar = true
        } else {
            write("\(label): \(Int(fraction * 100))%, \(Self.grouped(count)) \(unit), \(Self.grouped(Int(rate)))/s\n")
        }
    }

    /// Clears the bar (on a terminal) so the next output starts on a clean line.
    func finish() {
        if printedBar { write("\r" + String(repeating: " ", count: 100) + "\r") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// 1234567 as "1,234,567".
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }
}
