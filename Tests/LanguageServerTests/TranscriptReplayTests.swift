import Foundation
import JSONRPC
import TestFixtures
import Testing

@testable import LanguageServer

/// Replays the sessions in protocol/transcripts against an in-process server.
///
/// A transcript is `{"description", "model": Bool or "chat", "steps": [...]}`; a step is `{"send": message}`
/// (client to server, sent as is) or `{"expect": message}` (server to client). An expected response
/// is matched with the response carrying its id; an expected notification or server request with
/// the first unmatched one of that method that fits (so timing-dependent extras such as progress
/// reports may come in between). Values match exactly, except the string `"<string>"`
/// (any non-empty string) and `"<any>"` (anything); objects must have exactly the expected keys.
extension LanguageServerModuleTests {
    @Suite struct TranscriptReplayTests {
        static let directory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("protocol/transcripts")

        static var transcripts: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
                .filter { $0.hasSuffix(".json") }.sorted()
        }

        @Test func thereAreTranscripts() {
            #expect(Self.transcripts.count >= 2)
        }

        @Test(arguments: transcripts)
        func replay(_ name: String) async throws {
            let data = try Data(contentsOf: Self.directory.appendingPathComponent(name))
            let transcript = try JSONValue(parsing: [UInt8](data))
            // "model": true serves the letters fixture, "chat" its chat-template twin, false none.
            var configuration = TestModel.configuration(model: transcript["model"] == true)
            if transcript["model"] == "chat" { configuration.modelPath = Fixtures.chatLettersModelPath }
            let client = TestClient(configuration: configuration)
            defer { client.close() }
            var matched = Set<Int>()   // indexes of received messages already used
            for (index, step) in (transcript["steps"]?.arrayValue ?? []).enumerated() {
                if let message = step["send"] {
                    client.connection.send(try JSONRPCMessage(validating: message))
                } else if let expected = step["expect"] {
                    var found: Int?
                    try await client.waitUntil(seconds: 20, "\(name) step \(index): \(expected)") {
                        let received = client.allReceived
                        found = received.indices.first { i in
                            guard !matched.contains(i), Self.sameSlot(received[i].jsonValue, expected) else { return false }
                            // Notifications whose count depends on timing (progress reports, logs) are skipped.
                            return expected["method"] == nil || Self.matches(received[i].jsonValue, expected)
                        }
                        return found != nil
                    }
                    matched.insert(found!)
                    let actual = client.allReceived[found!].jsonValue
                    #expect(Self.matches(actual, expected), "\(name) step \(index):\n expected \(expected)\n actual   \(actual)")
                } else if let exitCode = step["exitCode"]?.intValue {
                    try await client.waitUntil("\(name): exit") { client.exit.code != nil }
                    #expect(client.exit.code == Int32(exitCode))
                }
            }
        }

        /// Whether `actual` is the message `expected` describes: the response to its id, or a message of its method.
        static func sameSlot(_ actual: JSONValue, _ expected: JSONValue) -> Bool {
            if let method = expected["method"] { return actual["method"] == method }
            return actual["method"] == nil && actual["id"] == expected["id"]
        }

        static func matches(_ actual: JSONValue, _ expected: JSONValue) -> Bool {
            switch expected {
            case .string("<any>"):
                return true
            case .string("<string>"):
                return (actual.stringValue.map { !$0.isEmpty }) ?? false
            case .object(let members):
                guard case .object(let actualMembers) = actual, Set(actualMembers.keys) == Set(members.keys) else { return false }
                return members.allSatisfy { key, value in matches(actualMembers[key]!, value) }
            case .array(let elements):
                guard case .array(let actualElements) = actual, actualElements.count == elements.count else { return false }
                return zip(actualElements, elements).allSatisfy { matches($0, $1) }
            default:
                return actual == expected
            }
        }
    }
}
