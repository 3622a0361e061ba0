extension Plan {
    /// Free, Professional and Enterprise, as "initialize defaults" creates them. Defining
    /// them twice changes nothing (the engine checks the catalog before appending).
    ///
    /// | plan | monthly | annual | trial | API calls | users | storage | features |
    /// | --- | --- | --- | --- | --- | --- | --- | --- |
    /// | Free | 0 | 0 | none | 10,000 (hard) | 3 (hard) | 1 GB (hard) | dashboards |
    /// | Professional | 49 | 490 | 14 days | 1,000,000 incl., then 0.50 per 1,000 | 25 incl., then 8 each | 100 GB | + api, exports, realtime |
    /// | Enterprise | 499 | 4,990 | 30 days | 20,000,000 incl., graduated overage | 500 incl. | 2 TB | + sso, audit_log, custom_roles |
    public static func defaults(currency: Currency = .usd) throws(BillingError) -> [Plan] {
        func money(_ text: String) throws(BillingError) -> Money { try Money(text, currency: currency) }
        func decimal(_ text: String) throws(BillingError) -> ExactDecimal { try ExactDecimal(text) }
        let gigabyte: Int64 = 1_000_000_000
        let free = Plan(
            id: "free", name: "Free", tier: .free, currency: currency, monthlyPrice: try money("0"),
            annualPrice: try money("0"),
            features: ["dashboards"],
            metrics: [
                MetricTerms(metric: .apiCalls, included: 10_000, softLimit: 8_000, hardLimit: 10_000),
                MetricTerms(metric: .activeUsers, included: 3, hardLimit: 3),
                MetricTerms(metric: .storageBytes, included: gigabyte, hardLimit: gigabyte),
                MetricTerms(metric: .dashboards, included: 3, hardLimit: 3),
            ])
        let professional = Plan(
            id: "professional", name: "Professional", tier: .professional, currency: currency,
            monthlyPrice: try money("49"), annualPrice: try money("490"), trialDays: 14,
            features: ["dashboards", "api", "data_exports", "realtime"],
            metrics: [
                MetricTerms(
                    metric: .apiCalls, included: 1_000_000,
                    overagePrice: .package(size: 1_000, price: try decimal("0.50")), softLimit: 4_000_000,
                    hardLimit: 5_000_000),
                MetricTerms(metric: .activeUsers, included: 25, overagePrice: .perUnit(unitPrice: try decimal("8"))),
                MetricTerms(
                    metric: .storageBytes, included: 100 * gigabyte,
                    overagePrice: .package(size: gigabyte, price: try decimal("0.10"))),
                MetricTerms(metric: .dashboards, included: 50, hardLimit: 200),
                MetricTerms(metric: .realtimeConnections, included: 100, hardLimit: 1_000),
                MetricTerms(
                    metric: .dataExports, included: 100, overagePrice: .perUnit(unitPrice: try decimal("0.25"))),
                MetricTerms(
                    metric: .computeSeconds, included: 36_000, overagePrice: .perUnit(unitPrice: try decimal("0.0004"))),
            ])
        let enterprise = Plan(
            id: "enterprise", name: "Enterprise", tier: .enterprise, currency: currency,
            monthlyPrice: try money("499"), annualPrice: try money("4990"), trialDays: 30,
            features: ["dashboards", "api", "data_exports", "realtime", "sso", "audit_log", "custom_roles"],
            metrics: [
                MetricTerms(
                    metric: .apiCalls, included: 20_000_000,
                    overagePrice: .graduated([
                        PriceTier(upTo: 100_000_000, unitPrice: try decimal("0.0003")),
                        PriceTier(upTo: nil, unitPrice: try decimal("0.0001")),
                    ])),
                MetricTerms(metric: .activeUsers, included: 500, overagePrice: .perUnit(unitPrice: try decimal("5"))),
                MetricTerms(
                    metric: .storageBytes, included: 2_000 * gigabyte,
                    overagePrice: .package(size: gigabyte, price: try decimal("0.05"))),
                MetricTerms(metric: .dashboards, included: 1_000),
                MetricTerms(metric: .realtimeConnections, included: 10_000),
                MetricTerms(metric: .dataExports, included: 10_000),
                MetricTerms(
                    metric: .computeSeconds, included: 1_000_000,
                    overagePrice: .perUnit(unitPrice: try decimal("0.0002"))),
                MetricTerms(
                    metric: .dataPoints, included: 100_000_000,
                    overagePrice: .package(size: 1_000_000, price: try decimal("1"))),
            ])
        return [free, professional, enterprise]
    }
}
