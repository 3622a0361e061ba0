/// The `Encoder` a value encodes itself into for `RecordJSONEncoder`: it ends up holding one
/// node, the value's, with its containers filling the objects and arrays in it.
final class RecordJSONValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    private(set) var node: RecordJSONNode? {
        didSet { if let node { attach?(node) } }
    }
    /// Where a super encoder puts its value, in its parent's container.
    private let attach: ((RecordJSONNode) -> Void)?

    init(codingPath: [any CodingKey], attach: ((RecordJSONNode) -> Void)? = nil) {
        self.codingPath = codingPath
        self.attach = attach
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        // Asked again (a superclass, say), the same object goes on filling.
        if case .object(let object)? = node { return KeyedEncodingContainer(KeyedContainer(object: object, codingPath: codingPath)) }
        let object = RecordJSONObject()
        node = .object(object)
        return KeyedEncodingContainer(KeyedContainer(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array(let array)? = node { return UnkeyedContainer(array: array, codingPath: codingPath) }
        let array = RecordJSONArray()
        node = .array(array)
        return UnkeyedContainer(array: array, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(encoder: self)
    }

    /// What a single value container sets.
    fileprivate func set(_ value: RecordJSONNode) {
        node = value
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let object: RecordJSONObject
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { object.set(key.stringValue, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { object.set(key.stringValue, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { object.set(key.stringValue, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { object.set(key.stringValue, try .number(value, at: codingPath + [key])) }
    mutating func encode(_ value: Float, forKey key: Key) throws { object.set(key.stringValue, try .number(value, at: codingPath + [key])) }
    mutating func encode(_ value: Int, forKey key: Key) throws { object.set(key.stringValue, .signed(Int64(value))) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { object.set(key.stringValue, .signed(Int64(value))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { object.set(key.stringValue, .signed(Int64(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { object.set(key.stringValue, .signed(Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { object.set(key.stringValue, .signed(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { object.set(key.stringValue, .unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { object.set(key.stringValue, .unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { object.set(key.stringValue, .unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { object.set(key.stringValue, .unsigned(UInt64(value))) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { object.set(key.stringValue, .unsigned(value)) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        object.set(key.stringValue, try .encoding(value, at: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = RecordJSONObject()
        object.set(key.stringValue, .object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = RecordJSONArray()
        object.set(key.stringValue, .array(nested))
        return UnkeyedContainer(array: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        let object = object
        return RecordJSONValueEncoder(codingPath: codingPath + [IndexKey(stringValue: "super")]) { object.set("super", $0) }
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let object = object
        return RecordJSONValueEncoder(codingPath: codingPath + [key]) { object.set(key.stringValue, $0) }
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let array: RecordJSONArray
    let codingPath: [any CodingKey]
    var count: Int { array.items.count }

    /// Where the next item goes, for errors.
    private var nextPath: [any CodingKey] { codingPath + [IndexKey(intValue: count)] }

    init(array: RecordJSONArray, codingPath: [any CodingKey]) {
        self.array = array
        self.codingPath = codingPath
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
        array.items.append(try .encoding(value, at: nextPath))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = RecordJSONObject()
        let path = nextPath
        array.items.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(object: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = RecordJSONArray()
        let path = nextPath
        array.items.append(.array(nested))
        return UnkeyedContainer(array: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let (array, path, index) = (array, nextPath, count)
        // A placeholder, which the super encoder's value replaces.
        array.items.append(.null)
        return RecordJSONValueEncoder(codingPath: path) { array.items[index] = $0 }
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
        encoder.set(try .encoding(value, at: codingPath))
    }
}

/// A coding key for an array's index (or a super encoder's "super").
private struct IndexKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }
}
