import Foundation
import Model
import Testing

/// Randomized bad input against the built binary over pipes: every request gets the error the rules
/// say (protocol/README.md, "Error behaviour"), framing errors get id-null errors, the server stays
/// alive, shuts down cleanly, and its resident memory stays bounded.
struct ServeRobustnessTests {
    /// What one input must produce: answers to its requests by id, and id-null errors by code.
    struct Expected {
        var byID: [Int: Int?] = [:]  // nil: a successful result
        var nullErrors: [Int: Int] = [:]
    }

    /// A small deterministic generator, so a failure replays exactly.
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func pick<T>(_ options: [T]) -> T { options[int(0...options.count - 1)] }
    }

    static let uri = "file:///robust.swift"

    static func frame(_ body: Data) -> Data { Data("Content-Length: \(body.count)\r\n\r\n".utf8) + body }

    static func json(_ object: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: object) }

    static func pos(_ line: Int, _ character: Int) -> [String: Any] { ["line": line, "character": character] }

    /// Builds input number `index` (its request, if any, has id `id`) and records what it must produce.
    static func input(_ index: Int, id: Int, random: inout Random, expected: inout Expected) -> Data {
        let parseError = -32700, invalidParams = -32602
        func anyValue() -> Any { random.pick([NSNull(), true, 1, -5, 2.5, "x", "7", [] as [Any], [:] as [String: Any]]) }
        func request(_ method: String, _ params: Any) -> [String: Any] { ["jsonrpc": "2.0", "id": id, "method": method, "params": params] }
        switch index % 12 {
        case 0:  // broken headers: no Content-Length, a bad value, no colon, a bad name, or an oversized header
            expected.nullErrors[parseError, default: 0] += 1
            if index % 120 == 0 { return Data(repeating: UInt8(ascii: "a"), count: 17 << 10) + Data("\r\n\r\n".utf8) }
            return Data(random.pick(["Content-Length: 12a\r\n\r\n", "Content-Length: -3\r\n\r\n", "Content-Length:\r\n\r\n",
                                     "Content-Type: application/json\r\n\r\n", "garbage\r\n\r\n", "Bad\"Name: 5\r\n\r\n"]).utf8)
        case 1:  // Content-Length too short: a truncated body, then its tail read as a malformed header
            let body = json(request("textDocument/completion", [:] as [String: Any]))
            let cut = random.int(1...body.count - 1)
            expected.nullErrors[parseError, default: 0] += 2
            return Data("Content-Length: \(cut)\r\n\r\n".utf8) + body + Data("\r\n\r\n".utf8)
        case 2:  // Content-Length too long: the body runs into bytes that are not JSON
            let body = json(request("shutdown", NSNull()))
            let extra = random.int(1...8)
            expected.nullErrors[parseError, default: 0] += 1
            return Data("Content-Length: \(body.count + extra)\r\n\r\n".utf8) + body + Data(repeating: UInt8(ascii: "x"), count: extra)
        case 3:  // invalid JSON
            expected.nullErrors[parseError, default: 0] += 1
            let valid = json(request("textDocument/completion", [:] as [String: Any]))
            return frame(random.pick([valid.prefix(random.int(1...valid.count - 1)), valid + Data("]".utf8),
                                      Data("{\"jsonrpc\": \"2.0\", \"id\": \(id),}".utf8), Data("[1, 2".utf8)]))
        case 4:  // invalid UTF-8 inside a string: not a JSON text, so the id is unknown
            expected.nullErrors[parseError, default: 0] += 1
            let bad = random.pick([[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82]] as [[UInt8]])
            return frame(Data("{\"jsonrpc\":\"2.0\",\"id\":\(id),\"method\":\"x".utf8) + Data(bad) + Data("\"}".utf8))
        case 5:  // wrong param types
            expected.byID[id] = invalidParams
            let params: [String: Any] = ["textDocument": random.pick([["uri": 5] as Any, uri, NSNull()]),
                                         "position": ["line": random.pick(["7", 2.5, NSNull()] as [Any]), "character": 0],
                                         "context": ["triggerKind": 2]]
            return frame(json(request(random.pick(["textDocument/inlineCompletion", "textDocument/completion"]), params)))
        case 6:  // unknown methods
            expected.byID[id] = -32601
            return frame(json(request("x/unknown\(index % 7)", [:] as [String: Any])))
        case 7:  // positions far out of range are clamped (no model: an empty answer)
            expected.byID[id] = .some(nil)
            return frame(json(request("textDocument/inlineCompletion", ["textDocument": ["uri": uri],
                                                                        "position": pos(random.int(0...999_999), random.int(0...999_999)),
                                                                        "context": ["triggerKind": random.int(1...2)]])))
        case 8:  // edits to unknown documents, and out-of-range edits to the open one: ignored or clamped
            let target = random.pick(["file:///nope.swift", uri])
            let line = random.int(0...60), character = random.int(0...60)
            let change: [String: Any] = ["range": ["start": pos(line, character), "end": pos(line + random.int(0...2), character + 1)],
                                         "text": random.pick(["", "x", "\n", "😀", "\r\n", "é"])]
            return frame(json(["jsonrpc": "2.0", "method": "textDocument/didChange",
                               "params": ["textDocument": ["uri": target, "version": index], "contentChanges": [change]]]))
        case 9:  // requests naming a document that is not open
            expected.byID[id] = invalidParams
            return frame(json(request(random.pick(["textDocument/inlineCompletion", "textDocument/completion"]),
                                      ["textDocument": ["uri": "file:///closed\(index).swift"], "position": pos(0, 0),
                                       "context": ["triggerKind": 2]])))
        case 10:  // bad code action shapes
            expected.byID[id] = invalidParams
            if random.int(0...1) == 0 {
                return frame(json(request("codeAction/resolve", random.pick([["title": "t"], ["title": "t", "data": anyValue()]]))))
            }
            return frame(json(request("textDocument/codeAction", ["textDocument": ["uri": uri], "range": ["start": pos(0, 0), "end": anyValue()],
                                                                  "context": ["diagnostics": [] as [Any]]])))
        default:  // a second initialize, and unknown notifications (no answer)
            expected.byID[id] = -32600
            let params = anyValue()
            // JSON-RPC allows only structured params (our decoder also takes null as absent):
            // any other scalar makes a bad envelope, answered without an id.
            if !(params is [Any] || params is [String: Any] || params is NSNull) { expected.nullErrors[-32600, default: 0] += 1 }
            return frame(json(request("initialize", ["capabilities": [:] as [String: Any]])))
                + frame(json(["jsonrpc": "2.0", "method": "x/unknownNotification", "params": params]))
        }
    }

    @Test func tenThousandBadInputsOverPipes() throws {
        let server = try ServeProcess(arguments: ["--no-default-model", "--threads", "1"])
        defer { server.terminateIfRunning() }
        var random = Random(state: 2026)
        var expected = Expected()
        var id = 0

        // Requests before initialize answer -32002; notifications are dropped.
        for _ in 0..<200 {
            id += 1
            expected.byID[id] = -32002
            try server.request(id, random.pick(["textDocument/inlineCompletion", "textDocument/completion", "shutdown", "x/unknown"]), [:] as [String: Any])
            try server.notify(random.pick(["textDocument/didOpen", "textDocument/didChange"]), [:] as [String: Any])
        }
        id += 1
        try server.request(id, "initialize", ["processId": NSNull(), "capabilities": [:] as [String: Any]])
        expected.byID[id] = .some(nil)
        try server.notify("initialized", [:] as [String: Any])
        try server.notify("textDocument/didOpen", ["textDocument": ["uri": Self.uri, "languageId": "swift", "version": 1,
                                                                    "text": "let a = 1\nlet 😀 = 2\r\nlet b = a\n"]])

        let total = 12_000, warmUp = 2_000
        var residentAfterWarmUp = 0
        for index in 0..<total {
            id += 1
            server.sendRaw(Self.input(index, id: id, random: &random, expected: &expected))
            if index % 500 == 499 {
                // A probe that must be answered: keeps the backlog small and shows the server is alive.
                id += 1
                try server.request(id, "x/probe", [:] as [String: Any])
                expected.byID[id] = -32601
                _ = try server.response(id)
                if index + 1 == warmUp { residentAfterWarmUp = try server.residentKilobytes() }
            }
        }
        id += 1
        try server.request(id, "shutdown", NSNull())
        let shutdown = try server.response(id)
        #expect(shutdown["result"] is NSNull)
        let residentAtEnd = try server.residentKilobytes()
        try server.notify("exit")
        #expect(server.waitForExit() == 0)

        var answers: [Int: Int?] = [:]
        var nullErrors: [Int: Int] = [:]
        for message in server.messages where message["method"] == nil {
            let code = (message["error"] as? [String: Any])?["code"] as? Int
            if let messageID = message["id"] as? Int {
                #expect(answers[messageID] == nil, "request \(messageID) answered twice")
                answers[messageID] = code
            } else if message["id"] is NSNull, let code {
                nullErrors[code, default: 0] += 1
            } else {
                Issue.record("unexpected message \(message)")
            }
        }
        var wrong = 0
        for (requestID, code) in expected.byID.sorted(by: { $0.key < $1.key }) where answers[requestID] != code {
            wrong += 1
            if wrong <= 5 { Issue.record("request \(requestID): expected \(String(describing: code)), got \(String(describing: answers[requestID]))") }
        }
        #expect(wrong == 0)
        #expect(expected.byID.count == answers.count - 1)  // plus the shutdown
        #expect(nullErrors == expected.nullErrors)
        #expect(server.problems.isEmpty, "\(server.problems.prefix(3))")
        // 10,000 inputs after the warm-up carry about 2 MB; a leak of even a fraction of each would show.
        // What remains is allocator noise (arena growth, fragmentation), measured well under 4 MB.
        let growth = residentAtEnd - residentAfterWarmUp
        print("serve RSS after warm-up \(residentAfterWarmUp) kB, at the end \(residentAtEnd) kB, growth \(growth) kB")
        #expect(growth < 4_096, "RSS grew by \(growth) kB over \(total - warmUp) bad inputs")
    }
}
