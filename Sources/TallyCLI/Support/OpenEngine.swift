import Foundation
import Payments
import Tally

extension DataDirectoryOptions {
    /// The engine over the existing log in `path`: a query never creates an empty log where
    /// the user mistyped a directory.
    func openExistingEngine() throws -> Engine {
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw fail("no Tally log in \(path) (run `tally demo --data \(path)` to make one, or pass --data)")
        }
        return try openEngine(failure: "cannot open the log in \(path)")
    }

    /// The engine over the log in `path`, creating an empty one there if there is none (for
    /// commands that append).
    func openExistingEngineOrCreate() throws -> Engine {
        try openEngine(failure: "cannot open or create a log in \(path)")
    }

    /// Every command opens the engine the same way: a map large enough that a big log (a
    /// demo, a restore) rarely needs to grow it.
    func openEngine(failure: String, gateway: (any PaymentGateway)? = nil) throws -> Engine {
        do {
            var options = EnvironmentOptions()
            options.mapSize = 1 << 34
            return try Engine(directory: path, environment: options, gateway: gateway)
        } catch {
            throw fail("\(failure): \(error)")
        }
    }
}
