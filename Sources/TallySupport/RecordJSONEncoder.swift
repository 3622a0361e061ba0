import Foundation

/// Encodes a read model's record as compact JSON with every object's keys in byte order:
/// deterministic bytes that Foundation's `JSONDecoder` reads back (with its default strategies).
///
/// Foundation's `JSONEncoder` with `.sortedKeys` was half of a rebuild's time on subscription
/// events (each is written back as a subscription record and a customer history): it builds a
/// tree of boxed values, then sorts every object's keys with a locale-aware comparison. This
/// one builds a lighter tree (`RecordJSONNode`: numbers and strings unboxed) and sorts by bytes.
///
/// It writes what `JSONDecoder`'s defaults expect: a `Date` as its seconds since 2001 (what
/// `Date` encodes itself as), numbers in Swift's shortest form that reads back to the same
/// value. It refuses what they would read differently from what it writes (`Data`, `URL`,
/// Foundation's `Decimal`, which `JSONEncoder` special-cases) and numbers JSON cannot hold
/// (infinities, NaN), naming the field.
package enum RecordJSONEncoder {
    package static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let root = try RecordJSONNode.encoding(value, base: .root, key: nil)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(512)
        root.write(to: &bytes)
        return bytes
    }
}

/// What a value encodes as, before its objects' keys are sorted and it is written out.
enum RecordJSONNode {
    case null
    case bool(Bool)
    case signed(Int64)
    case unsigned(UInt64)
    /// Already in JSON's number syntax.
    case number(String)
    case string(String)
    case object(RecordJSONObject)
    case array(RecordJSONArray)

    /// The node `value` encodes as, where `key` (if any) leads from `base`.
    static func encoding<Value: Encodable>(_ value: Value, base: RecordJSONPath, key: (any CodingKey)?) throws
        -> RecordJSONNode
    {
        func path() -> [any CodingKey] { base.codingPath + (key.map { [$0] } ?? []) }
        if Value.self == Data.self || Value.self == URL.self || Value.self == Decimal.self {
            throw EncodingError.invalidValue(
                value,
                .init(
                    codingPath: path(),
                    debugDescription:
                        "\(Value.self) is not stored in read-model records: JSONDecoder would not read back what this encoder writes"
                ))
        }
        // What `Date` encodes itself as, without an encoder object for it.
        if Value.self == Date.self { return try number((value as! Date).timeIntervalSinceReferenceDate, at: path()) }
        let encoder = RecordJSONValueEncoder(base: base, key: key)
        try value.encode(to: encoder)
        return encoder.node ?? .object(RecordJSONObject())
    }

    /// `path`: where the number is, built only if it is refused.
    static func number<Float: BinaryFloatingPoint & LosslessStringConvertible>(
        _ value: Float, at path: @autoclosure () -> [any CodingKey]
    ) throws -> RecordJSONNode {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                .init(
                    codingPath: path(),
                    debugDescription: "\(value) is not a JSON number: a record's numbers must be finite"))
        }
        // Negative zero equals zero: one value, one spelling.
        if value == 0 { return .number("0") }
        // Swift's shortest form that reads back to the same value; "1.0" as "1", as JSON has it.
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return .number(text)
    }

    func write(to bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let value): bytes.append(contentsOf: (value ? "true" : "false").utf8)
        case .signed(let value): bytes.append(contentsOf: String(value).utf8)
        case .unsigned(let value): bytes.append(contentsOf: String(value).utf8)
        case .number(let text): bytes.append(contentsOf: text.utf8)
        case .string(let text): Self.write(string: text, to: &bytes)
        case .object(let object):
            bytes.append(UInt8(ascii: "{"))
            let fields = object.fields
            // By key, then in the order encoded, so that of a key encoded twice the last is
            // written, as JSONEncoder keeps it. One pass over the two keys per comparison.
            let order = fields.indices.sorted { a, b in
                let order = Self.byteOrder(fields[a].key, fields[b].key)
                return order == 0 ? a < b : order < 0
            }
            var first = true
            for (position, index) in order.enumerated() {
                if position + 1 < order.count, Self.byteOrder(fields[order[position + 1]].key, fields[index].key) == 0 {
                    continue
                }
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                Self.write(string: fields[index].key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                fields[index].value.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        case .array(let array):
            bytes.append(UInt8(ascii: "["))
            for (index, item) in array.items.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                item.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        }
    }

    /// How `a` and `b` compare byte by byte in UTF-8: negative, zero or positive.
    static func byteOrder(_ a: String, _ b: String) -> Int {
        var (left, right) = (a.utf8.makeIterator(), b.utf8.makeIterator())
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?) where x != y: return x < y ? -1 : 1
            default: continue
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string: quotes, backslashes and control characters escaped; the rest as UTF-8.
    static func write(string: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings (identifiers, currency codes, keys) need no escape: copied whole.
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            bytes.append(contentsOf: string.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), byte]
            case 0x0A: bytes += "\\n".utf8
            case 0x0D: bytes += "\\r".utf8
            case 0x09: bytes += "\\t".utf8
            case 0..<0x20: bytes += "\\u00".utf8 + [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// An object being filled: a class, because a container handed out keeps adding to it.
final class RecordJSONObject {
    /// In the order encoded; a key encoded twice appears twice, and the last one is written.
    var fields: [(key: String, value: RecordJSONNode)] = []

    func add(_ key: String, _ value: RecordJSONNode) {
        fields.append((key, value))
    }
}

/// An array being filled.
final class RecordJSONArray {
    var items: [RecordJSONNode] = []
}
