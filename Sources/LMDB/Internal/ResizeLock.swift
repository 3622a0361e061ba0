#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Guards the memory map against being moved while any transaction of this process uses it.
///
/// LMDB allows `mdb_env_set_mapsize` only while this process has no transaction open, so every
/// transaction holds this lock shared and a map resize holds it exclusively. The lock prefers
/// readers (the platform default), so a read transaction opened inside another one on the
/// same thread cannot deadlock; resizes are rare and wait for a moment with no transaction.
final class ResizeLock: @unchecked Sendable {  // pthread_rwlock_t is thread-safe by design.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    @inline(__always) func lockShared() { pthread_rwlock_rdlock(lock) }
    /// Takes the lock shared only if that needs no wait (no resize holds it); true if taken.
    @inline(__always) func tryLockShared() -> Bool { pthread_rwlock_tryrdlock(lock) == 0 }
    @inline(__always) func lockExclusive() { pthread_rwlock_wrlock(lock) }
    @inline(__always) func unlock() { pthread_rwlock_unlock(lock) }
}
