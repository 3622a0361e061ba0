import Dispatch
import Foundation
import LMDB

/// Runs `body` while `count` read transactions of `environment` are held open on threads of
/// their own, taking that many reader slots (to test what happens when none is left).
func withReadersHeld<R>(_ count: Int, in environment: Environment, _ body: () throws -> R) rethrows -> R {
    let (started, release, ended) = (
        DispatchSemaphore(value: 0), DispatchSemaphore(value: 0), DispatchSemaphore(value: 0)
    )
    for _ in 0..<count {
        Thread {
            _ = try? environment.read { _ in
                started.signal()
                release.wait()
            }
            ended.signal()
        }.start()
    }
    for _ in 0..<count { started.wait() }
    defer {
        for _ in 0..<count { release.signal() }
        for _ in 0..<count { ended.wait() }
    }
    return try body()
}
