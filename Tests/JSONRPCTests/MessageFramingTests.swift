import Testing

@testable import JSONRPC

private typealias Event = Result<[UInt8], MessageFramingError>

/// Feeds `chunks` in order and collects every event.
private func run(_ chunks: [[UInt8]], framer: MessageFramer = MessageFramer()) -> [Event] {
    var framer = framer
    return chunks.flatMap { framer.feed($0) }
}

private func body(_ text: String) -> Event { .success(bytes(text)) }

extension JSONRPCModuleTests {
    @Suite struct MessageFramingTests {
        // Three messages: plain, with Content-Type and odd header case, and one whose body holds
        // CRLFCRLF as JSON whitespace (which must not be mistaken for a header end).
        private let bodies = [
            #"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#,
            #"{"jsonrpc":"2.0","method":"é😀","params":[]}"#,
            "{\r\n\r\n\"a\":1}",
        ]

        private var stream: [UInt8] {
            let (first, second, third) = (bytes(bodies[0]), bytes(bodies[1]), bytes(bodies[2]))
            return bytes("Content-Length: \(first.count)\r\n\r\n") + first
                + bytes("content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-length:  \(second.count) \r\n\r\n")
                + second + bytes("Content-Length: \(third.count)\r\n\r\n") + third
        }

        private var expected: [Event] { bodies.map(body) }

        @Test func wholeStreamInOneChunk() {
            #expect(run([stream]) == expected)
        }

        @Test func everySplitPoint() {
            let stream = self.stream
            for split in 0...stream.count {
                #expect(run([Array(stream[..<split]), Array(stream[split...])]) == expected, "split at \(split)")
            }
        }

        /// Three chunks: every first split point against every third second one (keeps the run short).
        @Test func pairsOfSplitPoints() {
            let stream = self.stream
            for first in stride(from: 0, through: stream.count, by: 1) {
                for second in stride(from: first, through: stream.count, by: 3) {
                    let chunks = [Array(stream[..<first]), Array(stream[first..<second]), Array(stream[second...])]
                    if run(chunks) != expected { Issue.record("splits at \(first), \(second)") }
                }
            }
        }

        @Test func oneByteAtATime() {
            #expect(run(stream.map { [$0] }) == expected)
        }

        @Test func writerFramesExactly() {
            #expect(MessageFramer.frame(bytes("{}")) == bytes("Content-Length: 2\r\n\r\n{}"))
            #expect(MessageFramer.frame([]) == bytes("Content-Length: 0\r\n\r\n"))
            let body = bytes(#"{"x":"é"}"#)
            #expect(run([MessageFramer.frame(body)]) == [.success(body)])
        }

        @Test func emptyBodyAndBlankLinesBetweenMessages() {
            let events = run([bytes("Content-Length: 0\r\n\r\n\r\n\r\nContent-Length: 2\r\n\r\n{}\r\nContent-Length: 1\r\n\r\n1")])
            #expect(events == [.success([]), body("{}"), body("1")])
        }

        @Test func oversizedMessageIsSkippedAndReadingContinues() {
            let framer = MessageFramer(maximumMessageSize: 100)
            let big = [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
            let chunks = [bytes("Content-Length: 1000\r\n\r\n")] + [Array(big[..<300]), Array(big[300...])]
                + [bytes("Content-Length: 100\r\n\r\n") + [UInt8](repeating: 0x20, count: 100)]
            #expect(run(chunks, framer: framer) == [
                .failure(.messageTooLarge(length: 1000, limit: 100)), .success([UInt8](repeating: 0x20, count: 100)),
            ])
        }

        @Test func oversizedBodyIsNotBuffered() {
            var framer = MessageFramer()
            let megabyte = [UInt8](repeating: 0x41, count: 1 << 20)
            let length = 200 << 20
            #expect(framer.feed(bytes("Content-Length: \(length)\r\n\r\n"))
                == [.failure(.messageTooLarge(length: length, limit: 64 << 20))])
            let before = residentBytes()
            for _ in 0..<200 { #expect(framer.feed(megabyte).isEmpty) }
            let growth = residentBytes() - before
            #expect(growth < 32 << 20, "skipping a 200 MiB body grew memory by \(growth) bytes")
            #expect(framer.isIdle)
            #expect(framer.feed(bytes("Content-Length: 2\r\n\r\n[]")) == [body("[]")])
        }

        @Test func malformedHeadersAreReportedThenSkipped() {
            let good = bytes("Content-Length: 2\r\n\r\n{}")
            let cases: [(String, String)] = [
                ("Content-Length: abc\r\n\r\n", "Content-Length is not a decimal number"),
                ("Content-Length: -5\r\n\r\n", "Content-Length is not a decimal number"),
                ("Content-Length: 99999999999999999999999\r\n\r\n", "Content-Length is not a decimal number"),
                ("Content-Length:\r\n\r\n", "Content-Length is not a decimal number"),
                ("garbage line\r\n\r\n", "line without ':'"),
                ("Content Length: 2\r\n\r\n", "invalid header name"),
                (": 2\r\n\r\n", "invalid header name"),
                ("Content-Type: text/plain\r\n\r\n", "no Content-Length"),
                ("Content-Length: 5\nX: 1\r\n\r\n", "Content-Length is not a decimal number"),
            ]
            for (header, reason) in cases {
                let events = run([bytes(header) + good])
                guard events.count == 2, case .failure(.malformedHeader(let found, _)) = events[0] else {
                    Issue.record("\(header.debugDescription): \(events)")
                    continue
                }
                #expect(found == reason, "\(header.debugDescription)")
                #expect(events[1] == body("{}"), "\(header.debugDescription)")
            }
        }

        @Test func malformedBlockWithUsableLengthSkipsItsBody() {
            let good = bytes("Content-Length: 2\r\n\r\n{}")
            let badLine = run([bytes("Content-Length: 5\r\nNot A Header\r\n\r\nHELLO") + good])
            #expect(badLine.count == 2 && badLine[1] == body("{}"))
            let conflicting = run([bytes("Content-Length: 5\r\nContent-Length: 6\r\n\r\n123456") + good])
            guard case .failure(.malformedHeader(let reason, let header)) = conflicting.first else {
                Issue.record("expected a malformed header, got \(conflicting)")
                return
            }
            #expect(reason == "conflicting Content-Length headers")
            #expect(header == #"Content-Length: 5\r\nContent-Length: 6"#)
            #expect(conflicting.dropFirst() == [body("{}")])
        }

        @Test func overlongHeaderIsSkippedUpToItsEnd() {
            let framer = MessageFramer(maximumHeaderSize: 64)
            let noise = [UInt8](repeating: UInt8(ascii: "a"), count: 5000)
            let events = run([noise, bytes("\r"), bytes("\n\r\nContent-Length: 2\r\n\r\n{}")], framer: framer)
            #expect(events == [.failure(.headerTooLarge(limit: 64)), body("{}")])
        }
    }
}
