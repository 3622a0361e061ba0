/// An error returned by LMDB, with the operation that failed.
///
/// `code` is open: LMDB codes this wrapper has no name for still arrive intact,
/// so a new LMDB release never breaks callers that switch over the named ones.
public struct LMDBError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An LMDB (or errno) return code.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let keyExists = Code(rawValue: -30799)  // MDB_KEYEXIST
        public static let notFound = Code(rawValue: -30798)  // MDB_NOTFOUND
        public static let pageNotFound = Code(rawValue: -30797)  // MDB_PAGE_NOTFOUND
        public static let corrupted = Code(rawValue: -30796)  // MDB_CORRUPTED
        public static let panic = Code(rawValue: -30795)  // MDB_PANIC
        public static let versionMismatch = Code(rawValue: -30794)  // MDB_VERSION_MISMATCH
        public static let invalid = Code(rawValue: -30793)  // MDB_INVALID
        public static let mapFull = Code(rawValue: -30792)  // MDB_MAP_FULL
        public static let databasesFull = Code(rawValue: -30791)  // MDB_DBS_FULL
        public static let readersFull = Code(rawValue: -30790)  // MDB_READERS_FULL
        public static let transactionFull = Code(rawValue: -30788)  // MDB_TXN_FULL
        public static let cursorFull = Code(rawValue: -30787)  // MDB_CURSOR_FULL
        public static let pageFull = Code(rawValue: -30786)  // MDB_PAGE_FULL
        public static let mapResized = Code(rawValue: -30785)  // MDB_MAP_RESIZED
        public static let incompatible = Code(rawValue: -30784)  // MDB_INCOMPATIBLE
        public static let badReaderSlot = Code(rawValue: -30783)  // MDB_BAD_RSLOT
        public static let badTransaction = Code(rawValue: -30782)  // MDB_BAD_TXN
        public static let badValueSize = Code(rawValue: -30781)  // MDB_BAD_VALSIZE
        public static let badDatabase = Code(rawValue: -30780)  // MDB_BAD_DBI

        public var description: String { "\(rawValue)" }
    }

    public let code: Code
    /// LMDB's own text for `code` (`mdb_strerror`), or a wrapper-level explanation.
    public let message: String
    /// What was being done, such as `mdb_put(events)`.
    public let operation: String

    public init(code: Code, message: String, operation: String) {
        self.code = code
        self.message = message
        self.operation = operation
    }

    public var description: String { "\(operation) failed: \(message) (LMDB code \(code.rawValue))" }
}
