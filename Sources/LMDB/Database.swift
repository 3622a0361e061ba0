internal import CTallyLMDB
import Foundation
import Synchronization

/// A named database inside an environment. Cheap to copy; valid as long as its environment.
///
/// Plain data, with no reference to count: projections look one up and pass it on several
/// times per event, and a `String` name made each copy a retain and a release (a tenth of a
/// rebuild went to reference counting). The name is kept once per distinct name, for good.
public struct Database: Sendable, Hashable, CustomStringConvertible {
    /// LMDB's handle (`MDB_dbi`).
    let handle: UInt32
    private let interned: InternedName

    init(handle: UInt32, name: String) {
        self.handle = handle
        self.interned = InternedName(name)
    }

    public var name: String { String(cString: interned.pointer) }

    /// LMDB's number for it, unique within its environment: a cheap key for caches.
    public var id: UInt32 { handle }

    public var description: String { name }
}

/// A database name as a C string allocated once per distinct name and never freed (an
/// environment has a few dozen), so that equal names share one pointer.
private struct InternedName: Hashable, @unchecked Sendable {
    // Sendable because: the bytes are written once, before the pointer is shared, and never again.
    let pointer: UnsafePointer<CChar>

    private static let table = Mutex<[String: UnsafePointer<CChar>]>([:])

    init(_ name: String) {
        pointer = Self.table.withLock { table in
            if let known = table[name] { return known }
            let pointer = UnsafePointer(strdup(name)!)
            table[name] = pointer
            return pointer
        }
    }
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
