import EventLog
import Foundation
import Testing

/// Random appends applied both to a real log and to an in-memory model of what the log must
/// hold; after reopening, the two must agree event for event and the chain must verify.
@Suite("Model-based randomized appends")
struct ModelTests {
    struct ModelEvent: Equatable {
        var organization: String
        var key: String?
        var payload: Data
    }

    /// The model: the list of events, and the sequence each (organization, key) names.
    struct Model {
        var events: [ModelEvent] = []
        var keys: [String: UInt64] = [:]

        /// Applies a batch the way the log must; returns the receipts, or nil for a conflict.
        mutating func apply(_ batch: [EventDraft]) -> [AppendReceipt]? {
            var copy = self
            var receipts: [AppendReceipt] = []
            for draft in batch {
                if let key = draft.idempotencyKey {
                    let indexKey = draft.organizationID + "\u{0}" + key
                    if let sequence = copy.keys[indexKey] {
                        guard copy.events[Int(sequence) - 1].payload == draft.payload else { return nil }
                        receipts.append(.init(sequence: sequence, isDuplicate: true))
                        continue
                    }
                    copy.keys[indexKey] = UInt64(copy.events.count + 1)
                }
                copy.events.append(
                    ModelEvent(organization: draft.organizationID, key: draft.idempotencyKey, payload: draft.payload))
                receipts.append(.init(sequence: UInt64(copy.events.count), isDuplicate: false))
            }
            self = copy
            return receipts
        }
    }

    @Test("log equals model after random single and batch appends, retries and conflicts")
    func randomAppends() async throws {
        let seed = TestEnvironment.seed()
        let rounds = TestEnvironment.iterations(default: 300)
        var random = SeededGenerator(seed: seed)
        let directory = TemporaryDirectory()
        var model = Model()
        var usedKeys: [(String, String, Data)] = []

        func randomDraft() -> EventDraft {
            let organization = "org_\(Int.random(in: 0..<6, using: &random))"
            let payload = Data("q=\(Int.random(in: 0..<1000, using: &random))".utf8)
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<3:
                return TestLogs.usage(organization: organization).with(payload: payload)
            case 3..<5 where !usedKeys.isEmpty:
                // A retry: same organization, key and payload.
                let (organization, key, payload) = usedKeys.randomElement(using: &random)!
                return TestLogs.usage(organization: organization, key: key).with(payload: payload)
            case 5 where !usedKeys.isEmpty:
                // A key reused with another payload: a conflict.
                let (organization, key, _) = usedKeys.randomElement(using: &random)!
                return TestLogs.usage(organization: organization, key: key).with(payload: Data("other".utf8))
            default:
                let key = "k\(Int.random(in: 0..<100_000, using: &random))"
                usedKeys.append((organization, key, payload))
                return TestLogs.usage(organization: organization, key: key).with(payload: payload)
            }
        }

        do {
            let log = try TestLogs.open(directory.path)
            for round in 0..<rounds {
                let batch = (0..<Int.random(in: 1...8, using: &random)).map { _ in randomDraft() }
                let expected = model.apply(batch)
                let useAsync = Bool.random(using: &random)
                let actual: [AppendReceipt]?
                do {
                    actual =
                        useAsync
                        ? try await log.append(contentsOf: batch) : try log.appendSynchronously(contentsOf: batch)
                } catch EventLogError.idempotencyConflict {
                    actual = nil
                }
                #expect(actual == expected, "round \(round), seed \(seed)")
                // Keys of a rejected batch were never used: forget the ones it introduced.
                usedKeys.removeAll { entry in model.keys[entry.0 + "\u{0}" + entry.1] == nil }
            }
        }

        let log = try TestLogs.open(directory.path)
        let stored = try log.events(from: 1, limit: .max)
        #expect(stored.count == model.events.count, "seed \(seed)")
        for (event, expected) in zip(stored, model.events) {
            #expect(
                ModelEvent(organization: event.organizationID, key: event.idempotencyKey, payload: event.payload)
                    == expected, "seed \(seed)")
        }
        let report = try log.verify()
        #expect(report.isIntact, "seed \(seed): \(String(describing: report.failure))")
        #expect(report.eventsChecked == UInt64(model.events.count))
        for organization in Set(model.events.map(\.organization)) {
            let expected = model.events.enumerated().filter { $0.element.organization == organization }.map {
                UInt64($0.offset + 1)
            }
            #expect(try log.events(forOrganization: organization).map(\.sequence) == expected, "seed \(seed)")
        }
    }
}

extension EventDraft {
    func with(payload: Data) -> EventDraft {
        var copy = self
        copy.payload = payload
        return copy
    }
}
