/// Holt's linear trend (double exponential smoothing) over a daily series: a level and a
/// trend, each smoothed, with α and β chosen from a grid (0.1 to 0.9) to minimize the
/// one-step-ahead squared error. Usage quantities, not money, so floating point is fine here;
/// the grid search keeps it deterministic.
public struct HoltForecast: Sendable, Hashable {
    public let level: Double
    public let trend: Double
    public let alpha: Double
    public let beta: Double
    /// Root-mean-square one-step-ahead error over the series: how far to trust it.
    public let error: Double

    /// Nil for fewer than two points.
    public init?(_ series: [Double]) {
        guard series.count >= 2 else { return nil }
        var best: (sse: Double, level: Double, trend: Double, alpha: Double, beta: Double)?
        for a in 1...9 {
            for b in 1...9 {
                let alpha = Double(a) / 10
                let beta = Double(b) / 10
                var level = series[0]
                var trend = series[1] - series[0]
                var sse = 0.0
                for value in series.dropFirst() {
                    let predicted = level + trend
                    sse += (value - predicted) * (value - predicted)
                    let previous = level
                    level = alpha * value + (1 - alpha) * (level + trend)
                    trend = beta * (level - previous) + (1 - beta) * trend
                }
                if best == nil || sse < best!.sse { best = (sse, level, trend, alpha, beta) }
            }
        }
        let fit = best!
        level = fit.level
        trend = fit.trend
        alpha = fit.alpha
        beta = fit.beta
        error = (fit.sse / Double(series.count - 1)).squareRoot()
    }

    /// The forecast `days` ahead of the last point, never below zero.
    public func value(daysAhead days: Int) -> Double {
        max(0, level + Double(days) * trend)
    }
}
