import Billing
import Testing

@Suite("Exact decimals and rounding")
struct ExactDecimalTests {
    @Test(
        "parses plain decimal notation exactly",
        arguments: [
            ("0.0015", "0.0015"), ("-3.25", "-3.25"), ("12", "12"), ("007.50", "7.50"), ("0", "0"),
            ("123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678"),
        ])
    func parses(text: String, expected: String) throws {
        #expect(try ExactDecimal(text).description == expected)
    }

    @Test(
        "rejects anything but plain decimal notation, naming the field",
        arguments: [
            "", "-", ".5", "5.", "1e5", "1,5", " 1", "1 ", "+1", "0x10", "1.2.3", "--1", "NaN", "١٢",
        ])
    func rejects(text: String) {
        #expect(throws: BillingError.self) { try ExactDecimal(text, field: "unit_price") }
        do {
            _ = try ExactDecimal(text, field: "unit_price")
        } catch {
            #expect(error.description.hasPrefix("unit_price: must be a decimal number"))
        }
    }

    @Test("rejects more than 38 significant digits")
    func tooManyDigits() {
        #expect(throws: BillingError.self) { try ExactDecimal(String(repeating: "9", count: 39)) }
        #expect(throws: Never.self) { try ExactDecimal(String(repeating: "9", count: 38)) }
    }

    @Test("values compare and hash by value, whatever their scale")
    func equality() throws {
        #expect(try ExactDecimal("1.50") == ExactDecimal("1.5"))
        #expect(try Set([ExactDecimal("1.50"), ExactDecimal("1.5"), ExactDecimal("1")]).count == 2)
        #expect(try ExactDecimal("-0.01") < ExactDecimal("0"))
        #expect(try ExactDecimal("0.1") < ExactDecimal("0.10001"))
    }

    @Test("sums and products are exact")
    func arithmetic() throws {
        #expect(try ExactDecimal("0.1").adding(ExactDecimal("0.2")) == ExactDecimal("0.3"))
        #expect(try ExactDecimal("0.0015").multiplied(by: ExactDecimal(1_234_567)) == ExactDecimal("1851.8505"))
        #expect(try ExactDecimal("1").subtracting(ExactDecimal("0.999")) == ExactDecimal("0.001"))
    }

    /// The table in RoundingMode's documentation, checked.
    @Test(
        "every rounding mode at ties and near ties",
        arguments: [
            (RoundingMode.halfUp, ["3", "4", "-3", "2", "3"]),
            (.halfEven, ["2", "4", "-2", "2", "3"]),
            (.up, ["3", "4", "-3", "3", "3"]),
            (.down, ["2", "3", "-2", "2", "2"]),
            (.ceiling, ["3", "4", "-2", "3", "3"]),
            (.floor, ["2", "3", "-3", "2", "2"]),
        ])
    func rounding(mode: RoundingMode, expected: [String]) throws {
        let inputs = ["2.5", "3.5", "-2.5", "2.4", "2.6"]
        let rounded = try inputs.map { try ExactDecimal($0).rounded(toScale: 0, mode).description }
        #expect(rounded == expected)
    }

    @Test("rounding to more places pads exactly; to fewer uses the mode")
    func roundingScale() throws {
        #expect(try ExactDecimal("1851.8505").rounded(toScale: 2, .halfUp).description == "1851.85")
        #expect(try ExactDecimal("0.125").rounded(toScale: 2, .halfUp).description == "0.13")
        #expect(try ExactDecimal("0.125").rounded(toScale: 2, .halfEven).description == "0.12")
        #expect(try ExactDecimal("-0.125").rounded(toScale: 2, .halfUp).description == "-0.13")
        #expect(try ExactDecimal("1.5").rounded(toScale: 3, .down).description == "1.500")
    }
}
