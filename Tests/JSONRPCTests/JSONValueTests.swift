import Testing

@testable import JSONRPC

extension JSONRPCModuleTests {
    @Suite struct JSONRoundTripTests {
        @Test func scalarsKeepTheirKinds() throws {
            #expect(try parse("1") == .int(1))
            #expect(try parse("1.0") == .double(1))
            #expect(try parse("-0") == .int(0))
            #expect(try parse("-0.0") == .double(-0.0))
            #expect(try parse("1e5") == .double(100_000))
            #expect(try parse("true") == .bool(true))
            #expect(try parse("false") == .bool(false))
            #expect(try parse("null") == .null)
            #expect(try parse("\"x\"") == .string("x"))
            #expect(try parse("  [ 1 , 2.5 ]\r\n\t") == [1, 2.5])
            #expect(text(.int(1)) == "1")
            #expect(text(.double(1)) == "1.0")
            #expect(text(.double(0.1)) == "0.1")
            #expect(text(.double(-0.0)) == "-0.0")
        }

        @Test func integerLimitsRoundTrip() throws {
            for value: Int64 in [.max, .min, 0, -1, 1 << 53, (1 << 53) + 1] {
                let written = text(.int(value))
                #expect(written == "\(value)")
                #expect(try parse(written) == .int(value))
            }
        }

        @Test func doublesRoundTripExactly() throws {
            let samples: [Double] = [
                0.1, -2.5, 1e-7, .leastNonzeroMagnitude, 2.2250738585072014e-308, 1.7976931348623157e308, 123456789.125,
                1e21, 1e16, 3.0, Double.pi, -1e-300,
            ]
            for value in samples {
                let written = text(.double(value))
                #expect(try parse(written) == .double(value), "\(value) written as \(written)")
            }
            #expect(text(.double(.nan)) == "null")
            #expect(text(.double(.infinity)) == "null")
            #expect(try parse("1e-400") == .double(0))
        }

        @Test func unicodeAndEscapes() throws {
            #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
            #expect(try parse(#""\u00e9\u4e2d""#) == .string("é中"))
            #expect(try parse(#""\"\\\/\b\f\n\r\t""#) == .string("\"\\/\u{8}\u{C}\n\r\t"))
            #expect(try parse("\"😀é\"") == .string("😀é"))
            let nul = try parse(#""a\u0000b""#)
            #expect(nul == .string("a\u{0}b"))
            #expect(nul.stringValue?.utf8.count == 3)

            // Written form: raw UTF-8, no slash escaping, control characters as \u00XX.
            let value = JSONValue.string("a/b\u{0}\u{1}\u{1F}é😀\"\\\n")
            #expect(text(value) == #""a/b\u0000\u0001\u001fé😀\"\\\n""#)
            #expect(try JSONValue(parsing: value.serialized()) == value)
        }

        @Test func loneSurrogatesBecomeReplacementCharacters() throws {
            #expect(try parse(#""\ud83d""#) == .string("\u{FFFD}"))
            #expect(try parse(#""\ude00x""#) == .string("\u{FFFD}x"))
            #expect(try parse(#""\ud83d\u0041""#) == .string("\u{FFFD}A"))
        }

        @Test func nestingAndKeyOrder() throws {
            let source = #"{"z":1,"a":{"y":[1,{"b":null,"a":[]}],"x":{}},"m":"s"}"#
            let value = try parse(source)
            #expect(value.objectValue?.keys == ["z", "a", "m"])
            #expect(value["a"]?.objectValue?.keys == ["y", "x"])
            #expect(value["a"]?["y"]?[1]?.objectValue?.keys == ["b", "a"])
            #expect(text(value) == source)
            #expect(try JSONValue(parsing: value.serialized()) == value)
        }

        @Test func repeatedKeysKeepFirstPositionAndLastValue() throws {
            let value = try parse(#"{"b":1,"a":2,"b":3}"#)
            #expect(value.objectValue?.keys == ["b", "a"])
            #expect(value["b"] == .int(3))
        }

        @Test func objectEqualityIgnoresOrder() throws {
            #expect(try parse(#"{"a":1,"b":2}"#) == parse(#"{"b":2,"a":1}"#))
            #expect(try parse(#"{"a":1,"b":2}"#) != parse(#"{"a":1,"b":3}"#))
            #expect(try parse("[1,2]") != parse("[2,1]"))
        }

        @Test func accessorsAndMutation() throws {
            var value: JSONValue = ["name": "x", "n": 3, "f": 1.5, "ok": true, "list": [1, "two"]]
            #expect(value["name"]?.stringValue == "x")
            #expect(value["n"]?.intValue == 3)
            #expect(value["n"]?.doubleValue == 3)
            #expect(value["f"]?.intValue == nil)
            #expect(value["ok"]?.boolValue == true)
            #expect(value["list"]?[1]?.stringValue == "two")
            #expect(value["list"]?[2] == nil)
            #expect(value["missing"] == nil)
            value["n"] = 4
            value["new"] = .null
            value["name"] = nil
            #expect(value.objectValue?.keys == ["n", "f", "ok", "list", "new"])
            #expect(text(value) == #"{"n":4,"f":1.5,"ok":true,"list":[1,"two"],"new":null}"#)
            var empty = JSONValue.null
            empty["k"] = "v"
            #expect(text(empty) == #"{"k":"v"}"#)
        }

        /// Small objects scan, large ones index: both must agree with a plain reference model.
        @Test func objectMatchesReferenceModelAcrossSizes() {
            var random = SeededGenerator(seed: 7)
            var object = JSONObject()
            var reference: [(String, JSONValue)] = []
            for step in 0..<3000 {
                let key = "k\(Int.random(in: 0..<40, using: &random))"
                if Int.random(in: 0..<3, using: &random) == 0 {
                    object[key] = nil
                    reference.removeAll { $0.0 == key }
                } else {
                    object[key] = .int(Int64(step))
                    if let index = reference.firstIndex(where: { $0.0 == key }) {
                        reference[index].1 = .int(Int64(step))
                    } else {
                        reference.append((key, .int(Int64(step))))
                    }
                }
                if object.keys != reference.map(\.0) || object.values != reference.map(\.1) {
                    Issue.record("order diverged at step \(step)")
                    return
                }
                for probe in 0..<40 where object["k\(probe)"] != reference.first(where: { $0.0 == "k\(probe)" })?.1 {
                    Issue.record("lookup of k\(probe) diverged at step \(step)")
                    return
                }
            }
            var reserved: JSONObject = ["a": 1, "b": 2]
            reserved.reserveCapacity(100)
            reserved["c"] = 3
            #expect(reserved["a"] == 1 && reserved["b"] == 2 && reserved["c"] == 3 && reserved.keys == ["a", "b", "c"])
        }

        @Test func emptyContainersAndStrings() throws {
            for source in ["[]", "{}", "\"\"", "[[],{},\"\"]", #"{"":""}"#] {
                #expect(text(try parse(source)) == source)
            }
        }
    }
}

extension JSONRPCModuleTests {
    @Suite struct JSONRejectionTests {
        @Test func trailingGarbage() {
            #expect(parseError(bytes(#"{"a":1} x"#)) == .trailingCharacters(offset: 8))
            #expect(parseError(bytes("[1]]")) == .trailingCharacters(offset: 3))
            #expect(parseError(bytes("123abc")) == .trailingCharacters(offset: 3))
            #expect(parseError(bytes("1 2")) == .trailingCharacters(offset: 2))
            #expect(parseError([0x5B, 0x31, 0x5D, 0x00]) == .trailingCharacters(offset: 3))
        }

        @Test func incompleteInput() {
            #expect(parseError([]) == .unexpectedEnd(offset: 0))
            #expect(parseError(bytes("   ")) == .unexpectedEnd(offset: 3))
            #expect(parseError(bytes(#"{"a":"#)) == .unexpectedEnd(offset: 5))
            #expect(parseError(bytes("[1,2")) == .unexpectedEnd(offset: 4))
        }

        @Test func grammarViolations() {
            for source in ["[1,]", "['a']", "{a:1}", "[0x10]", "[nan]", "[\"\\x41\"]", "01", "-", "tru", "{\"a\" 1}", "[1 2]", "/* c */ 1", "+1", ".5"] {
                guard case .syntax = parseError(bytes(source)) else {
                    Issue.record("\(source) should be a syntax error, got \(String(describing: parseError(bytes(source))))")
                    continue
                }
            }
        }

        /// json-c 0.16's strict mode still lets these through; we accept them too (each has a single
        /// obvious meaning and no editor sends them) and pin the behaviour here so an upgrade is noticed.
        @Test func leniencyInheritedFromJSONC() throws {
            #expect(try parse("{'a':1}") == ["a": 1])
            #expect(try parse("\"a\tb\"") == .string("a\tb"))
            #expect(try parse("[1.]") == [.double(1)])
            #expect(try parse("[-01,00]") == [-1, 0])
        }

        @Test func invalidUTF8() {
            #expect(parseError([0x22, 0xFF, 0x22]) == .invalidUTF8(offset: 1))
            #expect(parseError([0x22, 0x61, 0xC3, 0x22]) == .invalidUTF8(offset: 3))
            // Overlong encoding of "/".
            #expect(parseError([0x22, 0xC0, 0xAF, 0x22]) != nil)
            // An encoded surrogate (CESU-8) passes json-c's check but is not Unicode.
            #expect(parseError([0x22, 0x61, 0xED, 0xA0, 0x80, 0x22]) == .invalidUTF8(offset: 2))
            // Raw 0xFF outside a string is still a UTF-8 error, found at its offset.
            #expect(parseError([0x5B, 0x31, 0x2C, 0xFF, 0x5D]) == .invalidUTF8(offset: 3))
        }

        @Test func nestingLimit() throws {
            func nested(_ depth: Int) -> [UInt8] {
                Array(repeating: UInt8(ascii: "["), count: depth) + Array(repeating: UInt8(ascii: "]"), count: depth)
            }
            #expect(try JSONValue(parsing: nested(64)).arrayValue != nil)
            #expect(parseError(nested(65)) == .tooDeep(offset: 64, limit: 64))
            #expect(parseError(nested(5), maximumDepth: 4) == .tooDeep(offset: 4, limit: 4))
            #expect(parseError(nested(100_000)) == .tooDeep(offset: 64, limit: 64))
        }

        @Test func numbersThatDoNotFit() throws {
            #expect(try parse("9223372036854775807") == .int(.max))
            #expect(try parse("-9223372036854775808") == .int(.min))
            #expect(parseError(bytes("9223372036854775808")) == .numberOutOfRange(offset: 0, text: "9223372036854775808"))
            #expect(parseError(bytes("[1,-9223372036854775809]")) == .numberOutOfRange(offset: 3, text: "-9223372036854775809"))
            #expect(parseError(bytes(#"{"id":99999999999999999999999}"#)) == .numberOutOfRange(offset: 6, text: "99999999999999999999999"))
            // A string that looks like a huge number is just a string; the real offender is found.
            #expect(parseError(bytes(#"["-99999999999999999999",-99999999999999999999]"#))
                == .numberOutOfRange(offset: 25, text: "-99999999999999999999"))
            #expect(parseError(bytes("1e400")) == .numberOutOfRange(offset: 0, text: "1e400"))
            #expect(parseError(bytes("[-1e999]")) == .numberOutOfRange(offset: 1, text: "-1e999"))
            for literal in ["NaN", "Infinity", "-Infinity"] {
                #expect(parseError(bytes("[\(literal)]")) != nil, "\(literal) must be rejected")
            }
        }
    }
}

extension JSONRPCModuleTests {
    @Suite struct JSONMemoryTests {
        @Test func parseAndSerializeDoNotLeak() throws {
            // A typical small request: every value kind, an escape, and the Int64.min re-check path.
            let source = bytes(
                #"{"jsonrpc":"2.0","id":42,"method":"m","params":{"p":{"line":1},"l":[2.5,"x\u0000y",null,true,-9223372036854775808]}}"#)
            let incomplete = bytes(#"{"a":[1,{"b":"#)
            func loop(_ count: Int) throws {
                for _ in 0..<count {
                    let value = try JSONValue(parsing: source)
                    let written = value.serialized()
                    if written.isEmpty { Issue.record("empty output") }
                    _ = parseError(incomplete)  // the error path must free what it built, too
                }
            }
            try loop(5_000)
            // A leaked tree per iteration shows up as hundreds of megabytes, a single leaked string
            // object per iteration as about ten, in every round. Other tests run in parallel and can
            // grow the process's memory in one round; they rarely do in all three, hence the minimum.
            var growths: [Int] = []
            for _ in 0..<3 {
                let before = residentBytes()
                #expect(before > 0)
                try loop(100_000)
                growths.append(residentBytes() - before)
            }
            let growth = growths.min()!
            #expect(growth < 4 << 20, "resident memory grew by \(growths) bytes in three rounds of 100k loops")
        }
    }
}
