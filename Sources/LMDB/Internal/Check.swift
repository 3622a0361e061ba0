internal import CTallyLMDB

/// Every LMDB return code passes through here, so every failure becomes one `LMDBError`
/// that names the operation.
@inline(__always)
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    guard rc == 0 else { throw makeError(rc, operation()) }
}

func makeError(_ rc: Int32, _ operation: String) -> LMDBError {
    LMDBError(code: .init(rawValue: rc), message: String(cString: mdb_strerror(rc)), operation: operation)
}

/// The version of liblmdb this process is linked with, such as "0.9.24".
public var lmdbLibraryVersion: String {
    var major: Int32 = 0
    var minor: Int32 = 0
    var patch: Int32 = 0
    _ = mdb_version(&major, &minor, &patch)
    return "\(major).\(minor).\(patch)"
}
