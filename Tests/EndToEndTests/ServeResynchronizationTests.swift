import Foundation
import Testing

/// Issue 15, item 9, against the built binary: after each broken frame a user's fuzzing found,
/// the next three requests get their real answers (before, every later message was answered -32700
/// until a bare blank line arrived, and the editor saw silent hangs).
struct ServeResynchronizationTests {
    /// The broken frames, around a 46-byte request (the issue's reproducer: `Content-Length: 45`).
    static let brokenFrames: [(name: String, bytes: Data)] = {
        let body = Data(#"{"jsonrpc":"2.0","id":9,"method":"broken/1"}"#.utf8)
        let junk = Data(repeating: UInt8(ascii: "a"), count: 70 << 10)
        func text(_ string: String) -> Data { Data(string.utf8) }
        return [
            ("length short by 1", text("Content-Length: \(body.count - 1)\r\n\r\n") + body),
            ("length long by 10", text("Content-Length: \(body.count + 10)\r\n\r\n") + body),
            ("length 0", text("Content-Length: 0\r\n\r\n") + body),
            ("length -1", text("Content-Length: -1\r\n\r\n") + body),
            ("length abc", text("Content-Length: abc\r\n\r\n") + body),
            ("length 2^64", text("Content-Length: 18446744073709551616\r\n\r\n") + body),
            ("length missing", text("Content-Type: application/vscode-jsonrpc\r\n\r\n") + body),
            ("no header", body),
            ("length given twice", text("Content-Length: \(body.count)\r\nContent-Length: \(body.count + 1)\r\n\r\n") + body),
            ("LF-only header", text("Content-Length: \(body.count)\n\n") + body),
            ("NUL bytes before a frame", Data([0, 0, 0, 0]) + text("Content-Length: \(body.count)\r\n\r\n") + body),
            ("70 KB header line", text("Content-Length: \(body.count)\r\nX-Padding: ") + junk + text("\r\n\r\n") + body),
            ("70 KB of junk before a frame", junk + text("Content-Length: \(body.count)\r\n\r\n") + body),
        ]
    }()

    @Test func threeRequestsAfterEachBrokenFrameGetTheirAnswers() throws {
        let server = try ServeProcess(arguments: ["--no-default-model", "--threads", "1"])
        defer { server.terminateIfRunning() }
        let uri = "file:///resync.swift"
        try server.request(1, "initialize", ["processId": NSNull(), "capabilities": [:] as [String: Any]])
        _ = try server.result(1)
        try server.notify("initialized", [:] as [String: Any])
        try server.notify("textDocument/didOpen", ["textDocument": ["uri": uri, "languageId": "swift", "version": 1,
                                                                    "text": "let a = 1\n"]])
        var id = 100
        for (name, bytes) in Self.brokenFrames {
            server.sendRaw(bytes)
            for _ in 0..<3 {
                id += 1
                try server.request(id, "textDocument/inlineCompletion", [
                    "textDocument": ["uri": uri], "position": ["line": 0, "character": 9],
                    "context": ["triggerKind": 2],
                ])
            }
            for answered in id - 2...id {
                let answer = try server.response(answered, seconds: 10)
                #expect(answer["error"] == nil && answer["result"] != nil, "after \(name): \(answer)")
            }
        }
        id += 1
        try server.request(id, "shutdown", NSNull())
        #expect(try server.result(id) is NSNull)
        try server.notify("exit")
        #expect(server.waitForExit() == 0)
        #expect(server.problems.isEmpty, "\(server.problems.prefix(3))")
    }
}
