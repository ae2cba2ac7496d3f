import Testing

@testable import JSONRPC

private struct Position: Codable, Equatable {
    var line: Int
    var character: UInt32
}

private enum TriggerKind: Int, Codable {
    case invoked = 1, character = 2
}

private struct CompletionParams: Codable, Equatable {
    var uri: String
    var position: Position
    var trigger: TriggerKind
    var context: String?
    var tags: [String]
    var ranges: [Position]?
    var options: [String: Bool]
    var extra: JSONValue?
    var weight: Double
    var small: Int8
}

extension JSONRPCModuleTests {
    @Suite struct JSONCodingTests {
        private let sample = CompletionParams(
            uri: "file:///a.swift", position: Position(line: 3, character: 14), trigger: .character,
            context: nil, tags: ["x", "y"], ranges: [Position(line: 0, character: 1)], options: ["fast": true],
            extra: ["any": [1, "two", nil]], weight: 0.5, small: -3)

        @Test func encodesInDeclarationOrderAndOmitsNil() throws {
            let value = try JSONValueEncoder().encode(sample)
            #expect(value.objectValue?.keys == ["uri", "position", "trigger", "tags", "ranges", "options", "extra", "weight", "small"])
            #expect(text(value) == #"{"uri":"file:///a.swift","position":{"line":3,"character":14},"trigger":2,"tags":["x","y"],"ranges":[{"line":0,"character":1}],"options":{"fast":true},"extra":{"any":[1,"two",null]},"weight":0.5,"small":-3}"#)
        }

        @Test func roundTripsThroughBytes() throws {
            let bytes = try JSONValueEncoder().encode(sample).serialized()
            let decoded = try JSONValueDecoder().decode(CompletionParams.self, from: JSONValue(parsing: bytes))
            #expect(decoded == sample)
        }

        @Test func decodesMissingOptionalsAndNullAsNil() throws {
            var value = try JSONValueEncoder().encode(sample)
            value["ranges"] = nil
            value["context"] = .null
            value["extra"] = nil
            let decoded = try JSONValueDecoder().decode(CompletionParams.self, from: value)
            #expect(decoded.ranges == nil && decoded.context == nil && decoded.extra == nil)
        }

        @Test func typeMismatchNamesThePath() throws {
            var value = try JSONValueEncoder().encode(sample)
            value["position"]?["line"] = "3"
            let error = decodeError(CompletionParams.self, value, path: "params")
            #expect(error == .typeMismatch(path: "params.position.line", expected: "integer", found: "string"))
            #expect(error?.description == "params.position.line: expected integer, found string")
        }

        @Test func arrayElementsAppearAsIndices() throws {
            var value = try JSONValueEncoder().encode(sample)
            value["ranges"] = [["line": 1, "character": 2], ["line": 1, "character": true]]
            #expect(decodeError(CompletionParams.self, value)
                == .typeMismatch(path: "ranges[1].character", expected: "integer", found: "boolean"))
            value = try JSONValueEncoder().encode(sample)
            value["tags"] = ["a", 2]
            #expect(decodeError(CompletionParams.self, value)?.description == "tags[1]: expected string, found integer")
        }

        @Test func missingKeyAndWrongContainer() throws {
            var value = try JSONValueEncoder().encode(sample)
            value["position"]?["character"] = nil
            #expect(decodeError(CompletionParams.self, value, path: "params") == .missingKey(path: "params.position.character"))
            value = try JSONValueEncoder().encode(sample)
            value["position"] = [1, 2]
            #expect(decodeError(CompletionParams.self, value)
                == .typeMismatch(path: "position", expected: "object", found: "array"))
            #expect(decodeError(CompletionParams.self, .string("x"), path: "params")?.description
                == "params: expected object, found string")
        }

        @Test func integerRangesAndIntegralDoubles() throws {
            var value = try JSONValueEncoder().encode(sample)
            value["small"] = 300
            #expect(decodeError(CompletionParams.self, value) == .outOfRange(path: "small", value: "300", type: "Int8"))
            value["small"] = 4.0
            #expect(try JSONValueDecoder().decode(CompletionParams.self, from: value).small == 4)
            value["small"] = 4.5
            #expect(decodeError(CompletionParams.self, value) == .typeMismatch(path: "small", expected: "integer", found: "number"))
            value = try JSONValueEncoder().encode(sample)
            value["position"]?["character"] = -1
            #expect(decodeError(CompletionParams.self, value)
                == .outOfRange(path: "position.character", value: "-1", type: "UInt32"))
            value = try JSONValueEncoder().encode(sample)
            value["weight"] = 2
            #expect(try JSONValueDecoder().decode(CompletionParams.self, from: value).weight == 2)
        }

        @Test func unknownEnumValueIsReportedWithPath() throws {
            var value = try JSONValueEncoder().encode(sample)
            value["trigger"] = 9
            guard case .invalidValue(let path, _)? = decodeError(CompletionParams.self, value, path: "params") else {
                Issue.record("expected invalidValue")
                return
            }
            #expect(path == "params.trigger")
        }

        @Test func encoderRejectsWhatJSONCannotHold() throws {
            struct Floats: Encodable { var list: [Double] }
            #expect(throws: JSONCodingError.invalidValue(path: "list[1]", reason: "nan cannot be written as JSON")) {
                try JSONValueEncoder().encode(Floats(list: [1, .nan]))
            }
            struct Big: Encodable { var n: UInt64 }
            #expect(throws: JSONCodingError.outOfRange(path: "n", value: "\(UInt64.max)", type: "Int64")) {
                try JSONValueEncoder().encode(Big(n: .max))
            }
        }

        @Test func topLevelValuesAndJSONValuePassThrough() throws {
            #expect(try JSONValueEncoder().encode(5) == .int(5))
            #expect(try JSONValueEncoder().encode([1.5]) == [1.5])
            #expect(try JSONValueEncoder().encode(Optional<Int>.none) == .null)
            let any: JSONValue = ["k": [1, 2.5, "s", nil, true]]
            #expect(try JSONValueEncoder().encode(any) == any)
            #expect(try JSONValueDecoder().decode(JSONValue.self, from: any) == any)
            #expect(try JSONValueDecoder().decode([Int?].self, from: [1, nil]) == [1, nil])
            #expect(try JSONValueDecoder().decode(RequestID.self, from: "a") == .string("a"))
            #expect(try JSONValueDecoder().decode(RequestID.self, from: 7) == .int(7))
        }

        @Test func customContainersNestAndReferenceLater() throws {
            struct Manual: Encodable {
                func encode(to encoder: any Encoder) throws {
                    var outer = encoder.container(keyedBy: NameKey.self)
                    var list = outer.nestedUnkeyedContainer(forKey: NameKey("list"))
                    var inner = outer.nestedContainer(keyedBy: NameKey.self, forKey: NameKey("inner"))
                    try list.encode(1)
                    try inner.encode("late", forKey: NameKey("filled"))
                    var deeper = list.nestedContainer(keyedBy: NameKey.self)
                    try deeper.encode(true, forKey: NameKey("b"))
                    try outer.encode(0, forKey: NameKey("last"))
                }
            }
            #expect(text(try JSONValueEncoder().encode(Manual())) == #"{"list":[1,{"b":true}],"inner":{"filled":"late"},"last":0}"#)
        }

        private func decodeError<T: Decodable>(_ type: T.Type, _ value: JSONValue, path: String = "") -> JSONCodingError? {
            do {
                _ = try JSONValueDecoder().decode(type, from: value, path: path)
                return nil
            } catch let error as JSONCodingError {
                return error
            } catch {
                Issue.record("unexpected error type: \(error)")
                return nil
            }
        }
    }
}
