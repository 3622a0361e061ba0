import Foundation

/// Hands out disjoint ranges of event numbers, so no benchmark iteration repeats a key.
public final class Counter: @unchecked Sendable {  // Guarded by its lock.
    private let lock = NSLock()
    private var next = 0

    public init() {}

    public func take(_ count: Int) -> Int {
        lock.withLock {
            defer { next += count }
            return next
        }
    }
}

/// A value made in a benchmark's (async) setup and read by its closure.
public final class Holder<Value: Sendable>: @unchecked Sendable {  // Guarded by its lock.
    private let lock = NSLock()
    private var stored: Value?

    public init() {}

    public var value: Value {
        get { lock.withLock { stored! } }
        set { lock.withLock { stored = newValue } }
    }

    public var isEmpty: Bool { lock.withLock { stored == nil } }
}
