import Foundation
import Glibc
import JSONRPC
import Logging
import Synchronization
import Testing

@testable import LanguageServer

extension LanguageServerModuleTests {
    /// Issue 15, item 6: Neovim writes every line of a server's standard error to lsp.log as
    /// `[ERROR]`, so routine lines go to the client as `window/logMessage` with their severity, and
    /// standard error keeps only errors (and everything while no client can be reached).
    @Suite struct LogSinkTests {
        /// What went to standard error, and the `window/logMessage` params that reached the client.
        final class Capture: Sendable {
            let standardError = Mutex<String>("")
            let toClient = Mutex<[(type: Int64, message: String)]>([])
        }

        /// Reads the frames the sink's connection writes to `fd` until it is closed.
        private static func collect(_ fd: Int32, into capture: Capture) {
            var framer = MessageFramer()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count <= 0 { return }
                for case .success(let body) in framer.feed(Array(buffer[0..<count])) {
                    guard let message = try? JSONRPCMessage(parsing: body),
                          case .notification("window/logMessage", let params?) = message,
                          let type = params["type"]?.intValue, let text = params["message"]?.stringValue else { continue }
                    capture.toClient.withLock { $0.append((type, text)) }
                }
            }
        }

        @Test func routineLinesGoToTheClientAndOnlyErrorsToStandardError() throws {
            let capture = Capture()
            let sink = LogSink(errorOutput: { bytes in capture.standardError.withLock { $0 += String(decoding: bytes, as: UTF8.self) } })
            let logger = Logger(label: "understudy") { label in ClientLogHandler(label: label, sink: sink, level: .trace) }
            logger.info("before a client")

            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            let (readEnd, writeEnd) = (fds[0], fds[1])
            let connection = JSONRPCConnection(input: -1, output: writeEnd)
            let reader = Thread { Self.collect(readEnd, into: capture) }
            reader.start()
            sink.attach(connection)
            logger.trace("a trace")
            logger.debug("a debug line")
            logger.info("an info line")
            logger.notice("a notice")
            logger.warning("a warning")
            logger.error("an error")
            logger.critical("a crash")
            close(writeEnd)
            while !reader.isFinished { usleep(1000) }
            close(readEnd)
            // The client has gone: standard error is the only place left.
            logger.info("after the client")

            #expect(capture.standardError.withLock { $0 } == """
                [understudy] info: before a client
                [understudy] error: an error
                [understudy] critical: a crash
                [understudy] info: after the client

                """)
            // MessageType: 1 error, 2 warning, 3 info, 5 debug.
            let sent = capture.toClient.withLock { $0 }
            #expect(sent.map(\.message) == ["a trace", "a debug line", "an info line", "a notice", "a warning", "an error", "a crash"])
            #expect(sent.map(\.type) == [5, 5, 3, 3, 2, 1, 1])
        }
    }
}
