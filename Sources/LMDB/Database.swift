internal import CTallyLMDB

/// A named database inside an environment. Cheap to copy; valid as long as its environment.
public struct Database: Sendable, Hashable, CustomStringConvertible {
    /// LMDB's handle (`MDB_dbi`).
    let handle: UInt32
    public let name: String

    /// LMDB's number for it, unique within its environment: a cheap key for caches.
    public var id: UInt32 { handle }

    public var description: String { name }
}

/// How a named database sorts and stores its entries. Fixed when it is created.
public struct DatabaseOptions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Keys compare from their last byte to their first (`MDB_REVERSEKEY`).
    public static let reverseKey = DatabaseOptions(rawValue: UInt32(MDB_REVERSEKEY))
    /// A key may hold several sorted values (`MDB_DUPSORT`).
    public static let duplicateSort = DatabaseOptions(rawValue: UInt32(MDB_DUPSORT))
    /// With `duplicateSort`: all values have the same size, stored packed (`MDB_DUPFIXED`).
    public static let duplicateFixed = DatabaseOptions(rawValue: UInt32(MDB_DUPFIXED))
}

/// How a put behaves.
public struct PutOptions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Fail with `.keyExists` rather than overwrite (`MDB_NOOVERWRITE`).
    public static let noOverwrite = PutOptions(rawValue: UInt32(MDB_NOOVERWRITE))
    /// With `duplicateSort`: fail with `.keyExists` if this exact key and value exist (`MDB_NODUPDATA`).
    public static let noDuplicateData = PutOptions(rawValue: UInt32(MDB_NODUPDATA))
    /// The key is greater than every key in the database, so it goes at the end without a
    /// search and pages fill completely (`MDB_APPEND`). A smaller key fails with `.keyExists`.
    public static let append = PutOptions(rawValue: UInt32(MDB_APPEND))
    /// `append` for the values of one key in a `duplicateSort` database (`MDB_APPENDDUP`).
    public static let appendDuplicate = PutOptions(rawValue: UInt32(MDB_APPENDDUP))
}
