internal import CTallyLMDB

// The only place that converts between Swift buffers and LMDB's MDB_val.
// Everything built from an MDB_val that LMDB returned borrows LMDB's memory: it is
// valid only until the transaction ends or the next write in it.

extension MDB_val {
    @inline(__always)
    init(borrowing buffer: UnsafeRawBufferPointer) {
        self.init(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }

    @inline(__always)
    var bufferPointer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mv_data, count: mv_size)
    }

    @inline(__always)
    var mutableBufferPointer: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: mv_data, count: mv_size)
    }
}
