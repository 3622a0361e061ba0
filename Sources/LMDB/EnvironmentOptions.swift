/// How an LMDB environment is opened.
public struct EnvironmentOptions: Sendable {
    /// When a commit returns, and what a crash can lose.
    public enum Durability: Sendable {
        /// Every commit is flushed (fdatasync) before it returns. A crash of the process,
        /// the OS or the machine loses nothing that was committed.
        case durable
        /// Data pages are flushed at commit but the meta page is not (`MDB_NOMETASYNC`).
        /// A process crash loses nothing; an OS crash or power loss may roll back the
        /// last committed transaction(s), never corrupting the file.
        case noMetaSync
        /// Nothing is flushed at commit (`MDB_NOSYNC`); the OS writes pages back when it
        /// likes, or `Environment.sync()` forces it. A process crash (even SIGKILL) loses
        /// nothing, because committed pages are already in the OS page cache. An OS crash
        /// or power loss may lose every transaction since the last sync, and on filesystems
        /// that reorder writes it may corrupt the file. For bulk imports that can be re-run.
        case noSync
    }

    /// The initial map size in bytes: the largest the data file may grow before the map
    /// is grown. Growth is automatic up to `maxMapSize`, so this only needs to be a sensible start.
    public var mapSize: Int = 1 << 30
    /// The largest size automatic growth may reach. Writes beyond it fail with `.mapFull`.
    public var maxMapSize: Int = 1 << 40
    /// How many named databases the environment may hold.
    public var maxDatabases: Int = 256
    /// How many read transactions may be open at once, across all processes.
    public var maxReaders: Int = 256
    public var durability: Durability = .durable
    /// Opens without write access; every write fails.
    public var readOnly: Bool = false
    /// Permissions for newly created files.
    public var fileMode: UInt32 = 0o644

    public init() {}
}
