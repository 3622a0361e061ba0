internal import CTallyLMDB
import Foundation
import Synchronization

/// An LMDB environment: one directory holding `data.mdb` and `lock.mdb`, and the named
/// databases inside it.
///
/// Open it with ``open(at:options:)``, which returns the same instance for the same directory
/// within a process (LMDB forbids opening one environment twice in a process).
///
/// ```swift
/// let env = try Environment.open(at: "/var/lib/tally")
/// let db = try env.database(named: "meta")
/// try env.write { txn in try txn.put(Array("1".utf8), forKey: Array("version".utf8), in: db) }
/// let version = try env.read { txn in try txn.value(forKey: Array("version".utf8), in: db) }
/// ```
public final class Environment: @unchecked Sendable {
    // Sendable because: the MDB_env itself is thread-safe when opened with MDB_NOTLS; the map
    // size changes only under `resizeLock` held exclusively; write transactions begin and end on
    // one thread at a time (LMDB's writer lock); the database-handle cache is behind a Mutex.

    /// The directory holding `data.mdb` and `lock.mdb`, as a canonical path.
    public let path: String
    public let options: EnvironmentOptions
    /// How many reader slots of dead processes were freed when this environment was opened.
    public let staleReadersCleared: Int

    let pointer: OpaquePointer
    private let resizeLock = ResizeLock()
    private let writer: WriterThread
    private let databases = Mutex<[String: Database]>([:])
    private let growthCount = Atomic<Int>(0)

    private init(path: String, options: EnvironmentOptions) throws {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        do {
            try check(mdb_env_set_mapsize(env, options.mapSize), "mdb_env_set_mapsize(\(options.mapSize))")
            try check(mdb_env_set_maxdbs(env, MDB_dbi(options.maxDatabases)), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, UInt32(options.maxReaders)), "mdb_env_set_maxreaders")
            var flags = UInt32(MDB_NOTLS)
            switch options.durability {
            case .durable: break
            case .noMetaSync: flags |= UInt32(MDB_NOMETASYNC)
            case .noSync: flags |= UInt32(MDB_NOSYNC)
            }
            if options.readOnly { flags |= UInt32(MDB_RDONLY) }
            try check(mdb_env_open(env, path, flags, mdb_mode_t(options.fileMode)), "mdb_env_open(\(path))")
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "mdb_reader_check")
            staleReadersCleared = Int(dead)
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.pointer = env!
        self.path = path
        self.options = options
        self.writer = WriterThread(name: "tally.lmdb.writer")
    }

    deinit {
        writer.stop()
        abortIdleReaders()
        OpenEnvironments.closing(path) { mdb_env_close(pointer) }
    }

    /// Opens the environment in `directory`, creating the directory and the files if needed.
    /// Returns the instance already open in this process for the same directory, if any;
    /// `options` apply only to the first opening.
    public static func open(at directory: String, options: EnvironmentOptions = .init()) throws -> Environment {
        if !options.readOnly {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw LMDBError(
                    code: .init(rawValue: EIO), message: "cannot create directory: \(error)",
                    operation: "open(\(directory))")
            }
        }
        guard let canonical = realpath(directory, nil) else {
            throw makeError(errno, "realpath(\(directory))")
        }
        defer { free(canonical) }
        let path = String(cString: canonical)
        return try OpenEnvironments.environment(at: path) { try Environment(path: path, options: options) }
    }

    /// The handle of the named database `name`, creating the database if it does not exist
    /// (unless the environment is read-only). Handles are cached: ask as often as you like.
    public func database(named name: String, options databaseOptions: DatabaseOptions = []) throws -> Database {
        if let cached = databases.withLock({ $0[name] }) { return cached }
        let open: (Transaction) throws -> Database = { txn in
            var handle = MDB_dbi()
            let flags = databaseOptions.rawValue | (self.options.readOnly ? 0 : UInt32(MDB_CREATE))
            try check(mdb_dbi_open(txn.pointer, name, flags, &handle), "mdb_dbi_open(\(name))")
            return Database(handle: handle, name: name)
        }
        // mdb_dbi_open must not run on two threads at once: a write transaction serializes it,
        // and a read-only environment opens its handles under the cache's lock.
        let database = try options.readOnly ? databases.withLock { _ in try read(reusing: false, open) } : write(open)
        databases.withLock { $0[name] = database }
        return database
    }

    // MARK: Transactions

    /// Runs `body` in a read-only transaction on the calling thread.
    ///
    /// Keep it short: an open reader stops LMDB from reusing pages freed after it began.
    public func read<R>(_ body: (Transaction) throws -> R) throws -> R {
        try read(reusing: true, body)
    }

    /// A read transaction, renewed from the kept ones and kept again after (`reusing`), or
    /// begun and committed: committing keeps database handles opened in the transaction.
    private func read<R>(reusing: Bool, _ body: (Transaction) throws -> R) throws -> R {
        while true {
            resizeLock.lockShared()
            var txn: OpaquePointer?
            let rc = beginRead(reusing: reusing, &txn)
            if rc == MDB_MAP_RESIZED {
                resizeLock.unlock()
                try adoptGrownMap()
                continue
            }
            guard rc == 0 else {
                resizeLock.unlock()
                throw makeError(rc, "mdb_txn_begin(read)")
            }
            let transaction = Transaction(pointer: txn!)
            defer { resizeLock.unlock() }
            let result: R
            do {
                result = try body(transaction)
            } catch {
                transaction.isOpen = false
                if reusing { keepForReuse(txn!) } else { mdb_txn_abort(txn) }
                throw error
            }
            transaction.isOpen = false
            if reusing { keepForReuse(txn!) } else { try check(mdb_txn_commit(txn), "mdb_txn_commit(read)") }
            return result
        }
    }

    /// Runs `body` in a read-only transaction on a thread that this process's writer may wait
    /// for (a rebuild lane folding the next batch while the writer commits this one). It sees
    /// what was last committed, and holds the map in place until `body` returns: a resize
    /// waits for it. It never waits itself (the writer may be waiting for it): while the map
    /// is being resized, or once another process has grown it, it throws `.mapResized`
    /// instead, and the caller must do without.
    public func readWithoutWaiting<R>(_ body: (Transaction) throws -> R) throws -> R {
        guard resizeLock.tryLockShared() else {
            throw LMDBError(code: .mapResized, message: "the map is being resized", operation: "read without waiting")
        }
        defer { resizeLock.unlock() }
        return try readWithoutLock("mdb_txn_begin(read without waiting)", body)
    }

    /// Runs `body` in a read-only transaction on the calling thread while `writer`, this
    /// process's write transaction, is open on another: a helper thread's view of what `writer`
    /// began from (no other transaction can commit while it is open), such as a rebuild lane's.
    /// `writer` holds the map in place for both, so this takes no lock of its own (taking the
    /// resize lock again could wait behind a resize that waits for `writer`). `body` must
    /// return before `writer`'s closure does.
    public func read<R>(besides writer: WriteTransaction, _ body: (Transaction) throws -> R) throws -> R {
        precondition(writer.isOpen, "read(besides:) needs its write transaction open")
        return try readWithoutLock("mdb_txn_begin(read besides a write)", body)
    }

    /// A kept read transaction around `body`, the map held in place by the caller.
    private func readWithoutLock<R>(_ operation: String, _ body: (Transaction) throws -> R) throws -> R {
        var txn: OpaquePointer?
        try check(beginRead(reusing: true, &txn), operation)
        let transaction = Transaction(pointer: txn!)
        defer {
            transaction.isOpen = false
            keepForReuse(txn!)
        }
        return try body(transaction)
    }

    /// Begins a read transaction into `txn` and returns LMDB's code: one of the kept ones,
    /// renewed, when `reusing` and one is kept (one that fails to renew is dropped), else a new one.
    private func beginRead(reusing: Bool, _ txn: inout OpaquePointer?) -> Int32 {
        if reusing, let idle = idleReaders.withLock({ $0.popLast() }) {
            if mdb_txn_renew(idle.pointer) == 0 {
                txn = idle.pointer
                return 0
            }
            mdb_txn_abort(idle.pointer)
        }
        return mdb_txn_begin(pointer, nil, UInt32(MDB_RDONLY), &txn)
    }

    /// Resets a finished read transaction and keeps it for the next `read`, which renews it
    /// (`mdb_txn_renew`) instead of beginning one: a begin allocates and clears room for every
    /// database the environment may open (12.5 KB at 256), a twentieth of a quota check. Each kept
    /// transaction holds a reader slot, so at most `idleReaderLimit` are kept. Only transactions
    /// that opened no database handle come here: those must commit to keep their handles.
    private func keepForReuse(_ txn: OpaquePointer) {
        mdb_txn_reset(txn)
        let kept = idleReaders.withLock { idle in
            guard idle.count < Self.idleReaderLimit else { return false }
            idle.append(IdleReader(pointer: txn))
            return true
        }
        if !kept { mdb_txn_abort(txn) }
    }

    /// Reset read transactions waiting for reuse; emptied before the map moves and at close.
    private let idleReaders = Mutex<[IdleReader]>([])
    private static let idleReaderLimit = 16

    /// A reset read transaction. Sendable because: a reset transaction holds no snapshot and
    /// no thread (`MDB_NOTLS`), and only the reader that pops it from the pool touches it.
    private struct IdleReader: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// Aborts the kept read transactions (with the resize lock held exclusively, or at close).
    private func abortIdleReaders() {
        for idle in idleReaders.withLock({ idle in
            defer { idle.removeAll() }
            return idle
        }) { mdb_txn_abort(idle.pointer) }
    }

    /// Runs `body` in a write transaction on the calling thread, blocking it until the commit
    /// is done (durably, unless `durability` says otherwise).
    ///
    /// LMDB admits one write transaction at a time, across threads and processes, so a second
    /// writer waits here for the first. The transaction begins and ends on this thread, as LMDB
    /// requires, and never spans an `await`. Do not call `write` inside another `write`.
    ///
    /// Commits when `body` returns and aborts when it throws. When the map is full the
    /// transaction is aborted, the map grows and `body` runs again from the start, so `body`
    /// must derive everything it writes from the transaction and its captured inputs.
    @discardableResult
    public func write<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        try writeOnCurrentThread(body)
    }

    /// Runs `job` on the environment's writer thread after every job submitted before it,
    /// without waiting. Group commit uses it: many callers' events go into one `write` there,
    /// so the blocking commit never runs on Swift's cooperative thread pool.
    public func submitToWriter(_ job: @escaping @Sendable () -> Void) {
        writer.submit(job)
    }

    private func writeOnCurrentThread<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        precondition(!options.readOnly, "write transaction on a read-only environment")
        while true {
            resizeLock.lockShared()
            var txn: OpaquePointer?
            var rc = mdb_txn_begin(pointer, nil, 0, &txn)
            if rc == MDB_MAP_RESIZED {
                resizeLock.unlock()
                try adoptGrownMap()
                continue
            }
            guard rc == 0 else {
                resizeLock.unlock()
                throw makeError(rc, "mdb_txn_begin(write)")
            }
            let transaction = WriteTransaction(pointer: txn!)
            let result: R
            do {
                result = try body(transaction)
            } catch let error as LMDBError where error.code == .mapFull {
                transaction.isOpen = false
                mdb_txn_abort(txn)
                resizeLock.unlock()
                try growMap()
                continue
            } catch {
                transaction.isOpen = false
                mdb_txn_abort(txn)
                resizeLock.unlock()
                throw error
            }
            transaction.isOpen = false
            rc = mdb_txn_commit(txn)  // frees the transaction whatever it returns
            resizeLock.unlock()
            if rc == MDB_MAP_FULL {
                try growMap()
                continue
            }
            try check(rc, "mdb_txn_commit")
            return result
        }
    }

    // MARK: Map size

    /// The current map size in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(pointer, &info)
        return info.me_mapsize
    }

    /// The most reader slots in use at once so far, by every process (`mdb_env_info`).
    public var readerSlotsUsed: Int {
        var info = MDB_envinfo()
        mdb_env_info(pointer, &info)
        return Int(info.me_numreaders)
    }

    /// How many times this process has grown the map.
    public var mapGrowths: Int { growthCount.load(ordering: .relaxed) }

    /// Doubles the map (up to `maxMapSize`) once no transaction of this process is open.
    private func growMap() throws {
        resizeLock.lockExclusive()
        defer { resizeLock.unlock() }
        let current = mapSize
        guard current < options.maxMapSize else {
            throw LMDBError(
                code: .mapFull,
                message:
                    "the map is full at its largest allowed size (\(options.maxMapSize) bytes, EnvironmentOptions.maxMapSize)",
                operation: "grow map")
        }
        let grown = min(options.maxMapSize, current * 2)
        abortIdleReaders()
        try check(mdb_env_set_mapsize(pointer, grown), "mdb_env_set_mapsize(\(grown))")
        growthCount.add(1, ordering: .relaxed)
    }

    /// Adopts the larger map another process set (after `MDB_MAP_RESIZED`).
    private func adoptGrownMap() throws {
        resizeLock.lockExclusive()
        defer { resizeLock.unlock() }
        abortIdleReaders()
        try check(mdb_env_set_mapsize(pointer, 0), "mdb_env_set_mapsize(0)")
    }

    // MARK: Maintenance

    /// Frees the reader slots of processes that died inside a read transaction and returns
    /// how many there were (`mdb_reader_check`). Opening does this once; a long-running
    /// service that shares the environment with crash-prone processes may call it now and then.
    public func clearStaleReaders() throws -> Int {
        var dead: Int32 = 0
        try check(mdb_reader_check(pointer, &dead), "mdb_reader_check")
        return Int(dead)
    }

    /// Drops this process's mappings of the data file's pages (`madvise(MADV_DONTNEED)`); they
    /// stay in the page cache and fault back in on the next read. LMDB maps the file read-only
    /// and writes through `pwrite`, so nothing is lost: this only stops a long scan (a rebuild
    /// of a large log) from counting every page it ever read in the process's resident size.
    public func releaseMappedPages() {
        // LMDB does not tell where it mapped the file (mdb_env_info reports an address only
        // with MDB_FIXEDMAP), so find the mapping of data.mdb in /proc/self/maps.
        resizeLock.lockShared()  // the map must not move while we advise on it
        defer { resizeLock.unlock() }
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return }
        let file = path + "/data.mdb"
        for line in maps.split(separator: "\n") where line.hasSuffix(file) {
            let bounds = line.prefix { $0 != " " }.split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                end > start,
                let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            _ = madvise(address, Int(end - start), MADV_DONTNEED)
        }
    }

    /// Flushes committed data to disk; only needed with `.noSync` or `.noMetaSync` durability.
    public func sync() throws {
        try check(mdb_env_sync(pointer, 1), "mdb_env_sync")
    }

    /// The size of `data.mdb` in bytes, as the file system reports it.
    public var fileSize: Int {
        var info = stat()
        return stat(path + "/data.mdb", &info) == 0 ? Int(info.st_size) : 0
    }

    /// Bytes used by pages in use (last page number + 1 times the page size).
    public var usedSize: Int {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(pointer, &info)
        mdb_env_stat(pointer, &stat)
        return (info.me_last_pgno + 1) * Int(stat.ms_psize)
    }
}
