import Foundation
import TestFixtures
import Testing

/// `understudy eval` measures what the language server serves: for the same positions, with the
/// embedded default model, the server's inline completion (cut to its first line) is exactly the
/// completion eval scored.
struct EvalServerAgreementTests {
    /// Real Swift code: this package's own completion and generation sources.
    static func sourceDirectory() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = Fixtures.temporaryDirectory()
        for folder in ["Sources/Model/Completion"] {
            let directory = root.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".swift") {
                try FileManager.default.copyItem(atPath: directory.appendingPathComponent(name).path, toPath: data + "/" + name)
            }
        }
        return data
    }

    @Test func evalAndTheServerGiveTheSameCompletions() throws {
        let data = try Self.sourceDirectory()
        let casesPath = data + "/cases.jsonl"
        let eval = try CommandLineTests.run(["eval", "--data", data, "--lang", "swift", "--samples", "200", "--seed", "3",
                                             "--threads", "1", "--cases", casesPath, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let cases = try String(contentsOfFile: casesPath, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(cases.count == 200)
        // Mostly real completions, so agreeing is not agreeing on nothing.
        #expect(cases.filter { ($0["completion"] as? String)?.isEmpty == false }.count > cases.count / 2)

        let server = try ServeProcess(arguments: ["--threads", "1"])
        defer { server.terminateIfRunning() }
        try server.request(1, "initialize", ["processId": NSNull(), "capabilities": [:] as [String: Any],
                                             // No time budget: eval has none, and a slow machine must not cut a line short.
                                             "initializationOptions": ["timeBudgetMs": 600_000]])
        _ = try server.result(1)
        try server.notify("initialized", [:] as [String: Any])

        var differences: [String] = []
        for (index, item) in cases.enumerated() {
            let path = try #require(item["file"] as? String), line = try #require(item["line"] as? Int)
            let typed = try #require(item["typed"] as? String), expected = try #require(item["completion"] as? String)
            // The document as eval shows it to the pipeline: the rest of the cursor's line is not there yet.
            let text = try String(contentsOfFile: data + "/" + path, encoding: .utf8)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines[line - 1] = typed
            let uri = "file:///agreement/\(index)/\(path)"
            try server.notify("textDocument/didOpen", ["textDocument": ["uri": uri, "languageId": "swift", "version": 1,
                                                                        "text": lines.joined(separator: "\n")]])
            let id = 100 + index
            try server.request(id, "textDocument/inlineCompletion", [
                "textDocument": ["uri": uri], "position": ["line": line - 1, "character": typed.utf16.count],
                "context": ["triggerKind": 2]])
            let items = (try server.result(id) as? [String: Any])?["items"] as? [[String: Any]] ?? []
            let shown = (items.first?["insertText"] as? String).map { String($0.prefix { $0 != "\n" }) } ?? ""
            if shown != expected { differences.append("\(path):\(line) after \"\(typed)\": eval \"\(expected)\", server \"\(shown)\"") }
            // Closed again, so no document is another's neighbour and the typing cache starts empty.
            try server.notify("textDocument/didClose", ["textDocument": ["uri": uri]])
        }
        #expect(differences.isEmpty, "\(differences.count) of \(cases.count) differ, e.g.\n\(differences.prefix(5).joined(separator: "\n"))")
        #expect(server.problems.isEmpty)
    }
}
