import BillingEvents
import EventLog
import Foundation
import SwiftProtobuf
import Testing

@Suite("The billing event catalog")
struct BillingEventTests {
    static let eventsPage = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/EVENTS.md")

    @Test("docs/EVENTS.md describes every event type, and names no type that does not exist")
    func documented() throws {
        let page = try String(contentsOf: Self.eventsPage, encoding: .utf8)
        for type in BillingEventType.allCases {
            #expect(page.contains("| `\(type.rawValue)` |"), "\(type.rawValue) is missing from docs/EVENTS.md")
        }
        let documented = page.split(separator: "\n").filter { $0.hasPrefix("| `") }.count
        #expect(documented == BillingEventType.allCases.count)
    }

    @Test("the registry accepts every billing event type, and an event log takes them")
    func registry() throws {
        let registry = BillingEventType.registry
        for type in BillingEventType.allCases {
            #expect(registry.currentVersion(of: type.rawValue) == 1)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tally-events-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try EventLog(directory: directory, options: EventLogOptions(registry: registry))
        var usage = Tally_V1_UsageRecorded()
        usage.metric = "api_calls"
        usage.quantity = 3
        usage.userID = "usr_1"
        let payload: Data = try usage.serializedData()
        let receipt = try log.appendSynchronously(
            EventDraft(
                organizationID: "org_1", eventType: BillingEventType.usageRecorded.rawValue,
                occurredAt: Date(timeIntervalSince1970: 1_760_000_000), idempotencyKey: "u-1", payload: payload))
        let stored = try #require(try log.event(at: receipt.sequence))
        #expect(try Tally_V1_UsageRecorded(serializedBytes: stored.payload) == usage)
    }

    @Test("every payload type round-trips through binary and JSON")
    func payloadsRoundTrip() throws {
        for type in BillingEventType.allCases {
            let empty = type.payloadType.init()
            let bytes: Data = try empty.serializedData()
            let decoded = try type.payloadType.init(serializedBytes: bytes)
            #expect(decoded.isEqualTo(message: empty), "\(type.rawValue)")
            let json = try empty.jsonString()
            #expect(try type.payloadType.init(jsonString: json).isEqualTo(message: empty), "\(type.rawValue)")
        }
        var plan = Tally_V1_PlanDefined()
        plan.plan.planID = "professional"
        plan.plan.monthlyPrice.minorUnits = 4900
        plan.plan.monthlyPrice.currency = "USD"
        var tiered = Tally_V1_PriceModel()
        tiered.graduated.tiers = [
            Tally_V1_PriceTier.with {
                $0.upTo = 100
                $0.unitPrice = "0.10"
            }, Tally_V1_PriceTier.with { $0.unitPrice = "0.05" },
        ]
        plan.plan.metrics = [
            Tally_V1_MetricTerms.with {
                $0.metric = "api_calls"
                $0.aggregation = .sum
                $0.overagePrice = tiered
                $0.hardLimit = 5_000_000
            }
        ]
        let decoded = try Tally_V1_PlanDefined(jsonString: try plan.jsonString())
        #expect(decoded == plan)
        #expect(decoded.plan.metrics[0].hasSoftLimit == false, "optional limits keep 'unset' apart from zero")
    }
}
