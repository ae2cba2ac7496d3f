import Testing

@testable import JSONRPC

/// The invalid-message error for `text`, or nil if it decoded.
func decodeFailure(_ text: String) -> InvalidMessage? {
    do {
        _ = try JSONRPCMessage(parsing: bytes(text))
        return nil
    } catch {
        return error
    }
}

extension JSONRPCModuleTests {
    @Suite struct JSONRPCMessageTests {
        @Test func decodesEachKind() throws {
            #expect(try JSONRPCMessage(parsing: bytes(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"a":1}}"#))
                == .request(id: .int(1), method: "initialize", params: ["a": 1]))
            #expect(try JSONRPCMessage(parsing: bytes(#"{"jsonrpc":"2.0","id":"x","method":"shutdown"}"#))
                == .request(id: .string("x"), method: "shutdown", params: nil))
            #expect(try JSONRPCMessage(parsing: bytes(#"{"method":"exit","jsonrpc":"2.0","params":[1]}"#))
                == .notification(method: "exit", params: [1]))
            #expect(try JSONRPCMessage(parsing: bytes(#"{"jsonrpc":"2.0","id":2,"result":null}"#))
                == .response(id: .int(2), result: .null))
            #expect(try JSONRPCMessage(parsing: bytes(#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no","data":[1]}}"#))
                == .error(id: .int(3), ResponseError(code: .methodNotFound, message: "no", data: [1])))
            #expect(try JSONRPCMessage(parsing: bytes(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#))
                == .error(id: nil, .parseError("bad")))
            // Null params are taken as absent (several editors send them for shutdown).
            #expect(try JSONRPCMessage(parsing: bytes(#"{"jsonrpc":"2.0","id":4,"method":"shutdown","params":null}"#))
                == .request(id: .int(4), method: "shutdown", params: nil))
        }

        @Test func serializesExactly() throws {
            let cases: [(JSONRPCMessage, String)] = [
                (.request(id: .int(1), method: "m", params: ["k": "v"]), #"{"jsonrpc":"2.0","id":1,"method":"m","params":{"k":"v"}}"#),
                (.request(id: .string("a"), method: "m", params: nil), #"{"jsonrpc":"2.0","id":"a","method":"m"}"#),
                (.notification(method: "n", params: [1]), #"{"jsonrpc":"2.0","method":"n","params":[1]}"#),
                (.response(id: .int(9), result: .null), #"{"jsonrpc":"2.0","id":9,"result":null}"#),
                (.error(id: nil, .parseError("p")), #"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"p"}}"#),
                (.error(id: .int(2), ResponseError(code: .contentModified, message: "c", data: ["x": 1])),
                 #"{"jsonrpc":"2.0","id":2,"error":{"code":-32801,"message":"c","data":{"x":1}}}"#),
            ]
            for (message, expected) in cases {
                #expect(String(decoding: message.serialized(), as: UTF8.self) == expected)
                #expect(try JSONRPCMessage(parsing: message.serialized()) == message)
            }
        }

        @Test func errorCodesHaveTheirProtocolValues() {
            let codes: [(ErrorCode, Int)] = [
                (.parseError, -32700), (.invalidRequest, -32600), (.methodNotFound, -32601), (.invalidParams, -32602),
                (.internalError, -32603), (.serverNotInitialized, -32002), (.requestCancelled, -32800),
                (.contentModified, -32801),
            ]
            for (code, raw) in codes { #expect(code.rawValue == raw) }
            #expect(ResponseError.serverNotInitialized.code == .serverNotInitialized)
            #expect(ResponseError.requestCancelled.code == .requestCancelled)
            #expect(ResponseError.contentModified.code == .contentModified)
            #expect(ResponseError.methodNotFound("x/y").message == "method not found: x/y")
            #expect(ResponseError.invalidParams("p").code == .invalidParams)
            #expect(ResponseError.internalError("i").code == .internalError)
        }

        @Test func parseErrorsHaveNoID() {
            for text in [#"{"jsonrpc":"2.0","id":1,"method":"#, "", "nul", "{\"id\":1}}", "[1,]"] {
                let failure = decodeFailure(text)
                #expect(failure?.error.code == .parseError, "\(text)")
                #expect(failure?.id == nil)
                #expect(failure?.response == .error(id: nil, failure!.error))
            }
        }

        @Test func invalidEnvelopesKeepTheIDWhenReadable() {
            let withID: [(String, RequestID)] = [
                (#"{"id":1,"method":"m"}"#, .int(1)),
                (#"{"jsonrpc":"1.0","id":"s","method":"m"}"#, .string("s")),
                (#"{"jsonrpc":2.0,"id":2,"method":"m"}"#, .int(2)),
                (#"{"jsonrpc":"2.0","id":3,"method":7}"#, .int(3)),
                (#"{"jsonrpc":"2.0","id":4,"method":"m","params":"x"}"#, .int(4)),
                (#"{"jsonrpc":"2.0","id":5,"method":"m","params":5}"#, .int(5)),
                (#"{"jsonrpc":"2.0","id":6}"#, .int(6)),
                (#"{"jsonrpc":"2.0","id":7,"result":1,"error":{"code":1,"message":"m"}}"#, .int(7)),
                (#"{"jsonrpc":"2.0","id":8,"error":{"code":"x","message":"m"}}"#, .int(8)),
                (#"{"jsonrpc":"2.0","id":9,"error":{"code":1}}"#, .int(9)),
            ]
            for (text, id) in withID {
                let failure = decodeFailure(text)
                #expect(failure?.error.code == .invalidRequest, "\(text)")
                #expect(failure?.id == id, "\(text)")
            }
            let withoutID = [
                #"[{"jsonrpc":"2.0","id":1,"method":"m"}]"#, "[]", "1", #""s""#, "null",
                #"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#, #"{"jsonrpc":"2.0","id":true,"method":"m"}"#,
                #"{"jsonrpc":"2.0","id":[1],"method":"m"}"#, #"{"jsonrpc":"2.0","id":null,"method":"m"}"#,
                #"{"jsonrpc":"2.0","result":1}"#, #"{"jsonrpc":"2.0","error":{"code":1,"message":"m"}}"#,
                #"{"jsonrpc":"2.0","method":"m","params":true}"#,
            ]
            for text in withoutID {
                let failure = decodeFailure(text)
                #expect(failure?.error.code == .invalidRequest, "\(text)")
                #expect(failure?.id == nil, "\(text)")
            }
            #expect(decodeFailure(#"[{"jsonrpc":"2.0","method":"m"}]"#)?.error.message == "batch requests are not supported")
        }

        @Test func invalidMessageDescriptionsSayWhatIsWrong() {
            #expect(decodeFailure(#"{"jsonrpc":"2.0","id":4,"method":"m","params":"x"}"#)?.description
                == "JSON-RPC error -32600: params must be an object or an array, found string (id 4)")
            #expect(decodeFailure("[1,]")?.description.hasPrefix("JSON-RPC error -32700: invalid JSON at byte 3") == true)
        }
    }
}
