/// The `Encoder` a value encodes itself into for `RecordJSONEncoder`: it ends up holding one
/// node, the value's, with its containers filling the objects and arrays in it.
final class RecordJSONValueEncoder: Encoder {
    /// Where the value is: under `key` in what `base` leads to (nil for the root, and for a
    /// super encoder's value written where its key says).
    private let base: RecordJSONPath
    private let key: (any CodingKey)?
    var codingPath: [any CodingKey] { base.codingPath + (key.map { [$0] } ?? []) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    private(set) var node: RecordJSONNode? {
        didSet { if let node { attach?(node) } }
    }
    /// Where a super encoder puts its value, in its parent's container.
    private let attach: ((RecordJSONNode) -> Void)?

    init(base: RecordJSONPath, key: (any CodingKey)?, attach: ((RecordJSONNode) -> Void)? = nil) {
        self.base = base
        self.key = key
        self.attach = attach
    }

    /// The path of this encoder's own containers.
    private var here: RecordJSONPath { RecordJSONPath(encoder: self) }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        // Asked again (a superclass, say), the same object goes on filling.
        if case .object(let object)? = node {
            return KeyedEncodingContainer(KeyedContainer(object: object, base: here))
        }
        let object = RecordJSONObject()
        node = .object(object)
        return KeyedEncodingContainer(KeyedContainer(object: object, base: here))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array(let array)? = node { return UnkeyedContainer(array: array, base: here) }
        let array = RecordJSONArray()
        node = .array(array)
        return UnkeyedContainer(array: array, base: here)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(encoder: self)
    }

    /// What a single value container sets.
    fileprivate func set(_ value: RecordJSONNode) {
        node = value
    }
}

/// Where a container is, as an array only when asked for (an error, or a type that reads its
/// coding path): building one for every nested value cost an allocation each.
struct RecordJSONPath {
    /// The encoder whose path this continues (nil: the root's parent), then `keys` (a nested
    /// container's, rarely any).
    var encoder: RecordJSONValueEncoder?
    var keys: [any CodingKey] = []

    static var root: RecordJSONPath { RecordJSONPath(encoder: nil) }

    var codingPath: [any CodingKey] { (encoder?.codingPath ?? []) + keys }

    func appending(_ key: any CodingKey) -> RecordJSONPath {
        RecordJSONPath(encoder: encoder, keys: keys + [key])
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: RecordJSONObject
    let base: RecordJSONPath
    var codingPath: [any CodingKey] { base.codingPath }

    mutating func encodeNil(forKey key: Key) throws { object.add(key.stringValue, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { object.add(key.stringValue, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { object.add(key.stringValue, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws {
        object.add(key.stringValue, try .number(value, at: codingPath + [key]))
    }
    mutating func encode(_ value: Float, forKey key: Key) throws {
        object.add(key.stringValue, try .number(value, at: codingPath + [key]))
    }
    mutating func encode(_ value: Int, forKey key: Key) throws { object.add(key.stringValue, .signed(Int64(value))) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { object.add(key.stringValue, .signed(Int64(value))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { object.add(key.stringValue, .signed(Int64(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { object.add(key.stringValue, .signed(Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { object.add(key.stringValue, .signed(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws {
        object.add(key.stringValue, .unsigned(UInt64(value)))
    }
    mutating func encode(_ value: UInt8, forKey key: Key) throws {
        object.add(key.stringValue, .unsigned(UInt64(value)))
    }
    mutating func encode(_ value: UInt16, forKey key: Key) throws {
        object.add(key.stringValue, .unsigned(UInt64(value)))
    }
    mutating func encode(_ value: UInt32, forKey key: Key) throws {
        object.add(key.stringValue, .unsigned(UInt64(value)))
    }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { object.add(key.stringValue, .unsigned(value)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.add(key.stringValue, try .encoding(value, base: base, key: key))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        let nested = RecordJSONObject()
        object.add(key.stringValue, .object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, base: base.appending(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = RecordJSONArray()
        object.add(key.stringValue, .array(nested))
        return UnkeyedContainer(array: nested, base: base.appending(key))
    }

    mutating func superEncoder() -> any Encoder {
        let object = object
        return RecordJSONValueEncoder(base: base, key: IndexKey(stringValue: "super")) { object.add("super", $0) }
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let object = object
        return RecordJSONValueEncoder(base: base, key: key) { object.add(key.stringValue, $0) }
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let array: RecordJSONArray
    let base: RecordJSONPath
    var codingPath: [any CodingKey] { base.codingPath }
    var count: Int { array.items.count }

    /// Where the next item goes.
    private var nextKey: IndexKey { IndexKey(intValue: count) }
    private var nextPath: [any CodingKey] { codingPath + [nextKey] }

    init(array: RecordJSONArray, base: RecordJSONPath) {
        self.array = array
        self.base = base
    }

    mutating func encodeNil() throws { array.items.append(.null) }
    mutating func encode(_ value: Bool) throws { array.items.append(.bool(value)) }
    mutating func encode(_ value: String) throws { array.items.append(.string(value)) }
    mutating func encode(_ value: Double) throws { array.items.append(try .number(value, at: nextPath)) }
    mutating func encode(_ value: Float) throws { array.items.append(try .number(value, at: nextPath)) }
    mutating func encode(_ value: Int) throws { array.items.append(.signed(Int64(value))) }
    mutating func encode(_ value: Int8) throws { array.items.append(.signed(Int64(value))) }
    mutating func encode(_ value: Int16) throws { array.items.append(.signed(Int64(value))) }
    mutating func encode(_ value: Int32) throws { array.items.append(.signed(Int64(value))) }
    mutating func encode(_ value: Int64) throws { array.items.append(.signed(value)) }
    mutating func encode(_ value: UInt) throws { array.items.append(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { array.items.append(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { array.items.append(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { array.items.append(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { array.items.append(.unsigned(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        array.items.append(try .encoding(value, base: base, key: nextKey))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        let nested = RecordJSONObject()
        let path = base.appending(nextKey)
        array.items.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, base: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = RecordJSONArray()
        let path = base.appending(nextKey)
        array.items.append(.array(nested))
        return UnkeyedContainer(array: nested, base: path)
    }

    mutating func superEncoder() -> any Encoder {
        let (array, key, index) = (array, nextKey, count)
        // A placeholder, which the super encoder's value replaces.
        array.items.append(.null)
        return RecordJSONValueEncoder(base: base, key: key) { array.items[index] = $0 }
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let encoder: RecordJSONValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.set(.null) }
    mutating func encode(_ value: Bool) throws { encoder.set(.bool(value)) }
    mutating func encode(_ value: String) throws { encoder.set(.string(value)) }
    mutating func encode(_ value: Double) throws { encoder.set(try .number(value, at: codingPath)) }
    mutating func encode(_ value: Float) throws { encoder.set(try .number(value, at: codingPath)) }
    mutating func encode(_ value: Int) throws { encoder.set(.signed(Int64(value))) }
    mutating func encode(_ value: Int8) throws { encoder.set(.signed(Int64(value))) }
    mutating func encode(_ value: Int16) throws { encoder.set(.signed(Int64(value))) }
    mutating func encode(_ value: Int32) throws { encoder.set(.signed(Int64(value))) }
    mutating func encode(_ value: Int64) throws { encoder.set(.signed(value)) }
    mutating func encode(_ value: UInt) throws { encoder.set(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { encoder.set(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { encoder.set(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { encoder.set(.unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { encoder.set(.unsigned(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        encoder.set(try .encoding(value, base: RecordJSONPath(encoder: encoder), key: nil))
    }
}

/// A coding key for an array's index (or a super encoder's "super"). Made for every item
/// encoded, read only for a coding path: an index is spelled out only when asked for.
private struct IndexKey: CodingKey {
    private let name: String?
    let intValue: Int?
    var stringValue: String { name ?? String(intValue ?? 0) }

    init(intValue: Int) {
        name = nil
        self.intValue = intValue
    }

    init(stringValue: String) {
        name = stringValue
        intValue = nil
    }
}
