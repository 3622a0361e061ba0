import Billing
import Foundation

/// An SVG chart of MRR movements per interval, stacked above (new business, expansion,
/// reactivation) and below (contraction, churn) a zero line, with the MRR at each interval's
/// end as a line on its own axis. Pixel positions are floating point; every label comes from
/// exact minor units.
struct MRRChart {
    let currency: Currency
    let intervals: [RevenueLedger.Interval]
    let monthly: Bool

    private let width = 960.0, height = 540.0
    private let left = 100.0, right = 100.0, top = 80.0, bottom = 70.0

    static let colors: [MRRMovement.Kind: String] = [
        .newBusiness: "#2e9d5b", .expansion: "#5cc0a0", .reactivation: "#7b68c8", .contraction: "#f0a04b",
        .churn: "#d64545",
    ]
    static let labels: [MRRMovement.Kind: String] = [
        .newBusiness: "New business", .expansion: "Expansion", .reactivation: "Reactivation",
        .contraction: "Contraction", .churn: "Churn",
    ]
    static let upward: [MRRMovement.Kind] = [.newBusiness, .expansion, .reactivation]
    static let downward: [MRRMovement.Kind] = [.contraction, .churn]

    func svg() -> String {
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let ups = intervals.map { span in Self.upward.reduce(Int64(0)) { $0 + span.movements.amount($1) } }
        let downs = intervals.map { span in Self.downward.reduce(Int64(0)) { $0 + span.movements.amount($1) } }
        let movementAxis = Axis(low: min(0, downs.min() ?? 0), high: max(1, ups.max() ?? 1))
        let mrrAxis = Axis(low: 0, high: max(1, intervals.map(\.endingMRR).max() ?? 1))
        let band = plotWidth / Double(max(intervals.count, 1))
        func yMovement(_ value: Int64) -> Double { top + plotHeight * (1 - movementAxis.fraction(value)) }
        func yMRR(_ value: Int64) -> Double { top + plotHeight * (1 - mrrAxis.fraction(value)) }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="\(left)" y="28" font-size="18" font-weight="bold" fill="#222">MRR and its movements (\(currency.code))</text>

            """
        // Grid and the movements axis on the left.
        for tick in movementAxis.ticks {
            let y = fmt(yMovement(tick))
            svg +=
                "<line x1=\"\(fmt(left))\" y1=\"\(y)\" x2=\"\(fmt(left + plotWidth))\" y2=\"\(y)\" stroke=\"\(tick == 0 ? "#555" : "#e4e4e4")\" stroke-width=\"\(tick == 0 ? 1.2 : 1)\"/>\n"
            svg +=
                "<text x=\"\(fmt(left - 8))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\" fill=\"#444\">\(label(tick, step: movementAxis.step))</text>\n"
        }
        for tick in mrrAxis.ticks {
            svg +=
                "<text x=\"\(fmt(left + plotWidth + 8))\" y=\"\(fmt(yMRR(tick)))\" dominant-baseline=\"middle\" fill=\"#1f3b73\">\(label(tick, step: mrrAxis.step))</text>\n"
        }
        // Stacked bars.
        for (index, span) in intervals.enumerated() {
            let x = left + Double(index) * band + band * 0.15
            let barWidth = band * 0.7
            var base: Int64 = 0
            for kind in Self.upward where span.movements.amount(kind) > 0 {
                let amount = span.movements.amount(kind)
                svg += bar(
                    x, yMovement(base + amount), barWidth, yMovement(base) - yMovement(base + amount), kind, span,
                    amount)
                base += amount
            }
            base = 0
            for kind in Self.downward where span.movements.amount(kind) < 0 {
                let amount = span.movements.amount(kind)
                svg += bar(x, yMovement(base), barWidth, yMovement(base + amount) - yMovement(base), kind, span, amount)
                base += amount
            }
        }
        // The MRR line.
        let points = intervals.enumerated().map {
            "\(fmt(left + (Double($0.offset) + 0.5) * band)),\(fmt(yMRR($0.element.endingMRR)))"
        }
        svg +=
            "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#1f3b73\" stroke-width=\"2.5\"/>\n"
        for (index, span) in intervals.enumerated() {
            svg +=
                "<circle cx=\"\(fmt(left + (Double(index) + 0.5) * band))\" cy=\"\(fmt(yMRR(span.endingMRR)))\" r=\"3\" fill=\"#1f3b73\"><title>MRR \(label(span.endingMRR, step: 1)) at the end of \(dayText(span.lastDay))</title></circle>\n"
        }
        // X labels: at most about 12.
        let every = max(1, Int((Double(intervals.count) / 12).rounded(.up)))
        for (index, span) in intervals.enumerated() where index % every == 0 {
            let x = fmt(left + (Double(index) + 0.5) * band)
            let text = monthly ? String(dayText(span.firstDay).prefix(7)) : String(dayText(span.firstDay).dropFirst(5))
            svg +=
                "<text x=\"\(x)\" y=\"\(fmt(top + plotHeight + 18))\" text-anchor=\"middle\" fill=\"#444\">\(text)</text>\n"
        }
        // Axes, their titles and the legend.
        svg += """
            <line x1="\(fmt(left))" y1="\(fmt(top))" x2="\(fmt(left))" y2="\(fmt(top + plotHeight))" stroke="#555"/>
            <line x1="\(fmt(left + plotWidth))" y1="\(fmt(top))" x2="\(fmt(left + plotWidth))" y2="\(fmt(top + plotHeight))" stroke="#1f3b73"/>
            <text transform="translate(22 \(fmt(top + plotHeight / 2))) rotate(-90)" text-anchor="middle" fill="#222">Movements (\(currency.code) of MRR per \(monthly ? "month" : "day"))</text>
            <text transform="translate(\(fmt(width - 18)) \(fmt(top + plotHeight / 2))) rotate(90)" text-anchor="middle" fill="#1f3b73">MRR at the end of each \(monthly ? "month" : "day") (\(currency.code))</text>
            <text x="\(fmt(left + plotWidth / 2))" y="\(fmt(height - 22))" text-anchor="middle" fill="#222">\(monthly ? "Month" : "Day") (UTC)</text>

            """
        var legendX = left
        for kind in Self.upward + Self.downward {
            svg +=
                "<rect x=\"\(fmt(legendX))\" y=\"44\" width=\"12\" height=\"12\" fill=\"\(Self.colors[kind]!)\"/><text x=\"\(fmt(legendX + 17))\" y=\"54\" fill=\"#333\">\(Self.labels[kind]!)</text>\n"
            legendX += 118
        }
        svg +=
            "<line x1=\"\(fmt(legendX))\" y1=\"50\" x2=\"\(fmt(legendX + 18))\" y2=\"50\" stroke=\"#1f3b73\" stroke-width=\"2.5\"/><text x=\"\(fmt(legendX + 23))\" y=\"54\" fill=\"#333\">MRR</text>\n"
        return svg + "</svg>\n"
    }

    private func bar(
        _ x: Double, _ y: Double, _ width: Double, _ height: Double, _ kind: MRRMovement.Kind,
        _ span: RevenueLedger.Interval, _ amount: Int64
    ) -> String {
        "<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(width))\" height=\"\(fmt(max(height, 0.5)))\" fill=\"\(Self.colors[kind]!)\"><title>\(Self.labels[kind]!) \(label(amount, step: 1)) (\(span.movements.count(kind))), \(dayText(span.firstDay))</title></rect>\n"
    }

    /// Minor units as major units with thousands separators; decimals only when the step needs them.
    private func label(_ minorUnits: Int64, step: Int64) -> String {
        var scale: Int64 = 1
        for _ in 0..<currency.exponent { scale *= 10 }
        let major = minorUnits.magnitude / UInt64(scale)
        let minor = minorUnits.magnitude % UInt64(scale)
        let grouped = String(major).reversed().enumerated().map {
            $0.offset > 0 && $0.offset % 3 == 0 ? "\($0.element)," : "\($0.element)"
        }.reversed().joined()
        var text = (minorUnits < 0 ? "−" : "") + grouped
        if step < scale || minor != 0, currency.exponent > 0 {
            let digits = String(minor)
            text += "." + String(repeating: "0", count: currency.exponent - digits.count) + digits
        }
        return text
    }

    private func dayText(_ day: Int32) -> String {
        Date(timeIntervalSince1970: TimeInterval(day) * 86_400).formatted(.iso8601.year().month().day())
    }

    private func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A linear axis from `low` to `high` (minor units) widened to round ticks.
    struct Axis {
        let step: Int64
        let ticks: [Int64]
        let low: Int64, high: Int64

        init(low: Int64, high: Int64) {
            let span = max(high - low, 1)
            var step: Int64 = 1
            while span / step > 6 {
                let tenth = step
                if span / (tenth * 2) <= 6 {
                    step = tenth * 2
                    break
                }
                if span / (tenth * 5) <= 6 {
                    step = tenth * 5
                    break
                }
                step = tenth * 10
            }
            self.step = step
            let floorLow = low >= 0 ? (low / step) * step : -((-low + step - 1) / step) * step
            let ceilHigh = ((high + step - 1) / step) * step
            self.low = floorLow
            self.high = max(ceilHigh, floorLow + step)
            ticks = Array(stride(from: self.low, through: self.high, by: Int(step)))
        }

        func fraction(_ value: Int64) -> Double { Double(value - low) / Double(high - low) }
    }
}
