import Foundation
import Synchronization

/// The environments open in this process, by canonical directory: LMDB forbids opening the
/// same environment twice in one process, so a second open returns the first instance.
enum OpenEnvironments {
    private struct Entry {
        weak var environment: Environment?
    }

    private static let entries = Mutex<[String: Entry]>([:])

    static func environment(at path: String, create: () throws -> Environment) throws -> Environment {
        while true {
            let found: Result<Environment, any Error>? = entries.withLock { entries in
                if let entry = entries[path] {
                    // An entry whose environment is gone is being closed by its deinit right now.
                    return entry.environment.map { .success($0) }
                }
                let result = Result { try create() }
                if case .success(let environment) = result { entries[path] = Entry(environment: environment) }
                return result
            }
            if let found { return try found.get() }
            Thread.sleep(forTimeInterval: 0.001)  // wait for the closing one to finish
        }
    }

    /// Runs `close` and forgets `path`, so no new open of `path` can overlap the close.
    static func closing(_ path: String, close: () -> Void) {
        entries.withLock { entries in
            close()
            if entries[path]?.environment == nil { entries[path] = nil }
        }
    }
}
