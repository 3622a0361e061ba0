import Foundation
import TallySupport
import TallyTestSupport
import Testing

@testable import ReadModels

/// `RecordJSONEncoder` writes the read models' JSON records (subscriptions, customer
/// histories, invoice states): its bytes must be deterministic and read back exactly by
/// Foundation's `JSONDecoder`. `JSONRecordsTests` round-trips the record types themselves.
@Suite("Support: the records' JSON encoder")
struct RecordJSONEncoderTests {
    struct Sample: Codable, Equatable {
        var text: String
        var number: Double
        var whole: Int64
        var large: UInt64
        var flag: Bool
        var when: Date
        var optional: Int?
        var list: [Int8]
        var map: [String: Float]
        var nested: [[String: Int]]
    }

    @Test("keys in byte order at every level, optionals left out, compact: the exact bytes")
    func exactBytes() throws {
        let sample = Sample(
            text: "a", number: 1.5, whole: -3, large: .max, flag: true, when: Date(timeIntervalSinceReferenceDate: 2),
            optional: nil, list: [1, -2], map: ["b": 2, "B": 1, "a": 0.25], nested: [["z": 1, "y": 2], [:]])
        let text = String(decoding: try RecordJSONEncoder.encode(sample), as: UTF8.self)
        #expect(
            text
                == #"{"flag":true,"large":18446744073709551615,"list":[1,-2],"map":{"B":1,"a":0.25,"b":2},"nested":[{"y":2,"z":1},{}],"number":1.5,"text":"a","when":2,"whole":-3}"#
        )
    }

    @Test("random values read back exactly through JSONDecoder, and encode to the same bytes again")
    func roundTrip() throws {
        let seed = TestEnvironment.seed()
        var random = SeededGenerator(seed: seed)
        let decoder = JSONDecoder()
        let alphabet = Array("aZ09 \"\\/\n\r\t\u{0}\u{1f}\u{7f}éü€😀".unicodeScalars)
        for _ in 0..<TestEnvironment.iterations(default: 500) {
            let text = String(
                String.UnicodeScalarView(
                    (0..<Int.random(in: 0...12, using: &random)).map { _ in alphabet.randomElement(using: &random)! }))
            // Any finite double, by its bits: subnormals, huge exponents, negative zero (which
            // equals zero, and is written as it).
            var number = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &random))
            if !number.isFinite { number = -0.0 }
            let sample = Sample(
                text: text, number: number, whole: Int64.random(in: .min ... .max, using: &random),
                large: UInt64.random(in: 0...UInt64.max, using: &random),
                flag: Bool.random(using: &random),
                when: Date(
                    timeIntervalSince1970: Double(Int.random(in: 0...2_000_000_000, using: &random)) + Double(
                        Int.random(in: 0...999_999_999, using: &random)) / 1e9),
                optional: Bool.random(using: &random) ? nil : Int.random(in: .min ... .max, using: &random),
                list: [.min, .max, 0],
                map: [text: Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &random))], nested: [[text: 1]])
            let bytes = try RecordJSONEncoder.encode(sample)
            let decoded = try decoder.decode(Sample.self, from: Data(bytes))
            #expect(decoded == sample, "seed \(seed): \(String(decoding: bytes, as: UTF8.self))")
            #expect(try RecordJSONEncoder.encode(decoded) == bytes, "seed \(seed)")
        }
    }

    @Test("the invoices' records read back exactly")
    func invoiceRecords() throws {
        var status = InvoiceStatus(state: .open, currency: "KWD", amountDue: 12_345)
        status.nextAttemptAt = 1_764_000_000_125_000_000
        status.failedAttempts = 2
        status.paymentIntentID = "pi_\"1\""
        let billed = BilledUsage(
            planID: "pro", periodStart: 1_764_000_000, periodEnd: 1_766_592_000,
            quantities: ["api_calls": 9, "storage_bytes": -1])
        #expect(
            try JSONDecoder().decode(InvoiceStatus.self, from: Data(try RecordJSONEncoder.encode(status))) == status)
        #expect(try JSONDecoder().decode(BilledUsage.self, from: Data(try RecordJSONEncoder.encode(billed))) == billed)
    }

    @Test("a key encoded twice keeps the last value, as JSONEncoder does; a dictionary of thousands of keys, sorted")
    func duplicatesAndLargeObjects() throws {
        struct Twice: Encodable {
            enum Keys: String, CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .b)
                try container.encode("first", forKey: .a)
                try container.encode("last", forKey: .a)
            }
        }
        #expect(String(decoding: try RecordJSONEncoder.encode(Twice()), as: UTF8.self) == #"{"a":"last","b":1}"#)
        let large = Dictionary(uniqueKeysWithValues: (0..<5_000).map { ("sub_\($0)", Int64($0)) })
        let bytes = try RecordJSONEncoder.encode(large)
        #expect(try JSONDecoder().decode([String: Int64].self, from: Data(bytes)) == large)
        let keys = large.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("{\"\(keys[0])\":\(large[keys[0]]!),\"\(keys[1])\":"))
    }

    @Test("a class's superclass goes under \"super\", as JSONEncoder puts it")
    func superclass() throws {
        let value = Derived(base: 1, extra: "x")
        let bytes = try RecordJSONEncoder.encode(value)
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"extra":"x","super":{"base":1}}"#)
        let decoded = try JSONDecoder().decode(Derived.self, from: Data(bytes))
        #expect(decoded.base == 1 && decoded.extra == "x")
    }

    @Test("what JSONDecoder would read back differently, or JSON cannot hold, is refused, naming the field")
    func refusals() {
        struct Blob: Encodable { var payload = Data([1, 2]) }
        struct Link: Encodable { var link = URL(string: "https://example.com")! }
        struct Amount: Encodable { var amount = Decimal(1) }
        struct Ratio: Encodable { var ratio = Double.infinity }
        struct Ratios: Encodable { var ratios: [Float] = [1, .nan] }
        for (value, field) in [
            (Blob() as any Encodable, "payload"), (Link(), "link"), (Amount(), "amount"), (Ratio(), "ratio"),
            (Ratios(), "ratios"),
        ] {
            let error = #expect(throws: EncodingError.self) { try RecordJSONEncoder.encode(value) }
            guard case .invalidValue(_, let context)? = error else {
                Issue.record("\(field): \(String(describing: error))")
                continue
            }
            #expect(context.codingPath.first?.stringValue == field)
        }
    }
}

/// A class with a superclass, encoded the way Foundation's documentation shows.
private class Base: Codable {
    var base: Int
    init(base: Int) { self.base = base }
}

private final class Derived: Base {
    var extra: String
    private enum Keys: String, CodingKey { case extra }

    init(base: Int, extra: String) {
        self.extra = extra
        super.init(base: base)
    }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        extra = try container.decode(String.self, forKey: .extra)
        try super.init(from: try container.superDecoder())
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(extra, forKey: .extra)
        try super.encode(to: container.superEncoder())
    }
}
