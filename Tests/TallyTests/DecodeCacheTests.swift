import Foundation
import TallyTestSupport
import Testing

@testable import ReadModels

/// The decode cache answers only for the very bytes it decoded: a changed record (new bytes,
/// same length or not) is decoded afresh, and the cache stays right when it starts over.
@Suite("Read models: decode cache")
struct DecodeCacheTests {
    @Test("hits only for identical bytes; changed records decode again; correct across its bound")
    func identicalBytesOnly() {
        let cache = DecodeCache<String>(capacity: 8)
        var decodes = 0
        func value(_ text: String) -> String {
            Array(text.utf8).withUnsafeBytes { bytes in
                cache.value(for: bytes) {
                    decodes += 1
                    return String(decoding: $0, as: UTF8.self)
                }
            }
        }
        #expect(value("{\"plan\":\"pro\"}") == "{\"plan\":\"pro\"}")
        #expect(value("{\"plan\":\"pro\"}") == "{\"plan\":\"pro\"}")
        #expect(decodes == 1)
        #expect(value("{\"plan\":\"ent\"}") == "{\"plan\":\"ent\"}")  // same length, other bytes
        #expect(value("{\"plan\":\"pro\"} ") == "{\"plan\":\"pro\"} ")
        #expect(value("") == "")
        #expect(decodes == 4)
        for index in 0..<50 { #expect(value("record \(index % 13)") == "record \(index % 13)") }
        #expect(value("{\"plan\":\"pro\"}") == "{\"plan\":\"pro\"}")
    }

    @Test("records alike but for a few bytes in the middle each keep their place: no decode on a second pass")
    func similarRecordsDoNotEvictEachOther() {
        let cache = DecodeCache<Int>(capacity: 4_096)
        var decodes = 0
        // Like 500 subscription records: the same fields and lengths, the organization id inside.
        let padding = String(repeating: "x", count: 700)
        let records = (0..<500).map {
            Array("{\"a\":\"\(padding)\",\"org\":\"org_\(String(1_000 + $0))\",\"z\":\"\(padding)\"}".utf8)
        }
        for _ in 0..<2 {
            for (index, record) in records.enumerated() {
                let value = record.withUnsafeBytes {
                    cache.value(for: $0) { _ in
                        decodes += 1
                        return index
                    }
                }
                #expect(value == index)
            }
        }
        #expect(decodes == 500, "\(decodes - 500) records were decoded again: they evicted each other")
    }
}
