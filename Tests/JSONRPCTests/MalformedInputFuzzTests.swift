import Testing

@testable import JSONRPC

/// What the framer + decoder pipeline makes of one framed unit.
private enum Outcome: Equatable, CustomStringConvertible {
    case malformedHeader
    case tooLarge
    case parseError
    case invalidRequest(RequestID?)
    case message(JSONRPCMessage)

    var description: String {
        switch self {
        case .malformedHeader: return "malformedHeader"
        case .tooLarge: return "tooLarge"
        case .parseError: return "parseError"
        case .invalidRequest(let id): return "invalidRequest(\(id.map { "\($0)" } ?? "nil"))"
        case .message(let message): return "message(\(message))"
        }
    }
}

/// Builds malformed inputs whose correct classification is known by construction.
private struct MalformedInputGenerator {
    var random: SeededGenerator
    let limit: Int

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func pick<T>(_ options: [T]) -> T { options[int(0...options.count - 1)] }

    mutating func string() -> String {
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "é", "中", "😀", "\u{0}", "\u{1F}", "\n", "\t"]
        return String((0..<int(0...12)).map { _ in pick(alphabet) })
    }

    mutating func id() -> RequestID {
        int(0...1) == 0 ? .int(Int64.random(in: .min ... .max, using: &random)) : .string(string())
    }

    mutating func scalar() -> JSONValue {
        pick([.int(Int64(int(-1000...1000))), .double(Double(int(-1000...1000)) / 8), .string(string()), .bool(true), .null])
    }

    mutating func structured(depth: Int = 0) -> JSONValue {
        var members = JSONObject()
        for _ in 0..<int(0...3) {
            members[string()] = depth < 2 && int(0...2) == 0 ? structured(depth: depth + 1) : scalar()
        }
        return int(0...1) == 0 ? .object(members) : .array(members.values)
    }

    /// A valid request as an object whose members appear in random order.
    mutating func request() -> (object: JSONObject, id: RequestID) {
        let id = id()
        var pairs: [(String, JSONValue)] = [("jsonrpc", "2.0"), ("id", id.jsonValue), ("method", .string(string()))]
        if int(0...1) == 0 { pairs.append(("params", structured())) }
        pairs.shuffle(using: &random)
        return (JSONObject(pairs), id)
    }

    mutating func framed(_ body: [UInt8]) -> [UInt8] { MessageFramer.frame(body) }

    /// One malformed unit and what the pipeline must report for it.
    mutating func next() -> (bytes: [UInt8], outcome: Outcome) {
        switch int(0...3) {
        case 0: return (badHeader(), .malformedHeader)
        case 1:
            let length = int(limit + 1...limit * 4)
            return (bytes("Content-Length: \(length)\r\n\r\n") + [UInt8](repeating: 0x7B, count: length), .tooLarge)
        case 2: return (framed(badJSON()), .parseError)
        default:
            let (body, id) = badEnvelope()
            return (framed(body.serialized()), .invalidRequest(id))
        }
    }

    /// A header block that names no usable Content-Length.
    mutating func badHeader() -> [UInt8] {
        let word = String((0..<int(1...20)).map { _ in pick(Array("abcXYZ019-_ ")) })
        let nonEmptyWord = word.trimmingSpaces.isEmpty ? "x" : word
        switch int(0...4) {
        case 0: return bytes("\(nonEmptyWord)\r\n\r\n")  // no colon
        case 1: return bytes("Content-Length: \(pick(["12a", "-3", "", "0x1F", "1 2", "+4", "٣"]))\r\n\r\n")
        case 2: return bytes("Bad\(pick([" ", "@", "(", "\""]))Name: 5\r\n\r\n")
        case 3: return bytes("Content-Type: application/json\r\n\r\n")
        default: return bytes("X-\(nonEmptyWord.replacingSpaces): 1\r\nContent-Length:\r\n\r\n")
        }
    }

    /// Bytes that are certainly not a JSON text.
    mutating func badJSON() -> [UInt8] {
        let valid = JSONValue.object(request().object).serialized()
        switch int(0...3) {
        case 0: return Array(valid[..<int(0...valid.count - 1)])  // a proper prefix of an object
        case 1:
            var corrupted = valid
            corrupted.insert(pick([0xFF, 0xFE, 0xC0, 0x80, 0xF8]), at: int(0...valid.count))
            return corrupted
        case 2: return valid + [pick(Array("x]}1,\"{".utf8))]
        default:
            let start = pick(Array("}]:,x#@".utf8))
            return [start] + (0..<int(0...40)).map { _ in UInt8(truncatingIfNeeded: int(0...255)) }
        }
    }

    /// Valid JSON with a broken envelope, and the id the error must carry.
    mutating func badEnvelope() -> (JSONValue, RequestID?) {
        var (object, id) = request()
        switch int(0...7) {
        case 0:
            object["jsonrpc"] = pick([nil, "1.0", 2, .null, "2.00", .double(2)])
            return (.object(object), id)
        case 1:
            object["method"] = pick([1, .null, [], [:], true])
            return (.object(object), id)
        case 2:
            object["params"] = pick(["x", 3, false, 1.5])
            return (.object(object), id)
        case 3:
            object["id"] = pick([1.5, true, [1], ["a": 1], .null])
            return (.object(object), nil)
        case 4:
            return (.array([.object(object)]), nil)
        case 5:
            object["method"] = nil
            object["params"] = nil
            return (.object(object), id)
        case 6:
            return (scalar(), nil)
        default:
            object["method"] = nil
            object["result"] = 1
            object["error"] = ["code": 1, "message": "m"]
            return (.object(object), id)
        }
    }
}

extension String {
    fileprivate var trimmingSpaces: String { String(filter { $0 != " " }) }
    fileprivate var replacingSpaces: String { String(map { $0 == " " ? "_" : $0 }) }
}

extension JSONRPCModuleTests {
    @Suite struct MalformedInputFuzzTests {
        @Test func tenThousandMalformedInputsAreClassifiedAndSurvived() throws {
            let limit = 1024
            var generator = MalformedInputGenerator(random: SeededGenerator(seed: 0x5EED), limit: limit)
            var chunking = SeededGenerator(seed: 42)
            var framer = MessageFramer(maximumMessageSize: limit)
            var expected: [Outcome] = []
            var actual: [Outcome] = []
            let before = residentBytes()

            for index in 0..<10_000 {
                let (unit, outcome) = generator.next()
                // A valid notification after every bad unit proves the reader is back in step.
                let sentinel = JSONRPCMessage.notification(method: "sentinel", params: ["n": .int(Int64(index))])
                expected += [outcome, .message(sentinel)]
                let stream = unit + MessageFramer.frame(sentinel.serialized())
                var offset = 0
                while offset < stream.count {
                    let size = min(stream.count - offset, Int.random(in: 1...700, using: &chunking))
                    for event in framer.feed(Array(stream[offset..<offset + size])) { actual.append(classify(event)) }
                    offset += size
                }
            }

            #expect(actual.count == expected.count)
            for (index, pair) in zip(actual, expected).enumerated() where pair.0 != pair.1 {
                Issue.record("unit \(index / 2): got \(pair.0), expected \(pair.1)")
                break
            }
            #expect(framer.isIdle)
            // Every kind of failure was exercised in bulk, not just one of them.
            let kinds = expected.map { outcome -> String in
                if case .invalidRequest(let id) = outcome { return id == nil ? "invalid-no-id" : "invalid-id" }
                if case .message = outcome { return "message" }
                return outcome.description
            }
            for kind in ["malformedHeader", "tooLarge", "parseError", "invalid-no-id", "invalid-id"] {
                #expect(kinds.filter { $0 == kind }.count > 500, "too few \(kind) cases")
            }
            let growth = residentBytes() - before
            #expect(growth < 32 << 20, "memory grew by \(growth) bytes")
        }

        private func classify(_ event: Result<[UInt8], MessageFramingError>) -> Outcome {
            switch event {
            case .failure(.malformedHeader), .failure(.headerTooLarge): return .malformedHeader
            case .failure(.messageTooLarge): return .tooLarge
            case .success(let body):
                do {
                    return .message(try JSONRPCMessage(parsing: body))
                } catch {
                    return error.error.code == .parseError ? .parseError : .invalidRequest(error.id)
                }
            }
        }
    }
}
