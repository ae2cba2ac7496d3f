import Dispatch
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import JSONRPC

/// Records what the connection delivers and optionally reacts (e.g. by answering).
private final class Recorder: JSONRPCMessageHandler {
    let messages = Mutex<[JSONRPCMessage]>([])
    let closed = Mutex(false)
    let reaction: @Sendable (JSONRPCMessage, JSONRPCConnection) -> Void

    init(reaction: @escaping @Sendable (JSONRPCMessage, JSONRPCConnection) -> Void = { _, _ in }) {
        self.reaction = reaction
    }

    func handle(_ message: JSONRPCMessage, on connection: JSONRPCConnection) {
        messages.withLock { $0.append(message) }
        reaction(message, connection)
    }

    func connectionClosed(_ connection: JSONRPCConnection) {
        closed.withLock { $0 = true }
    }
}

/// Answers like `echoServer` and keeps nothing, so that memory measurements see only the connection.
private final class EchoOnly: JSONRPCMessageHandler {
    func handle(_ message: JSONRPCMessage, on connection: JSONRPCConnection) { echoServer(message, connection) }
    func connectionClosed(_ connection: JSONRPCConnection) {}
}

/// A pipe whose two ends close when the test is done with them.
private final class PipeEnds {
    private(set) var readEnd: Int32
    private(set) var writeEnd: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe() failed")
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    func closeReadEnd() {
        if readEnd >= 0 { close(readEnd) }
        readEnd = -1
    }

    func closeWriteEnd() {
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
    }

    deinit {
        closeReadEnd()
        closeWriteEnd()
    }
}

private func writeAll(_ fd: Int32, _ data: [UInt8]) {
    var offset = 0
    while offset < data.count {
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress! + offset, data.count - offset) }
        precondition(written > 0, "test write failed")
        offset += written
    }
}

private func frame(_ text: String) -> [UInt8] { MessageFramer.frame(bytes(text)) }

/// Reads framed messages from `fd` until `count` have arrived or `seconds` pass.
private func readMessages(from fd: Int32, count: Int, seconds: Int = 60) -> [JSONValue] {
    var framer = MessageFramer()
    var values: [JSONValue] = []
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    var waited = 0
    while values.count < count && waited < seconds * 1000 {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 50) > 0 else {
            waited += 50
            continue
        }
        let got = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if got <= 0 { break }
        for event in framer.feed(Array(buffer[0..<got])) {
            guard case .success(let body) = event, let value = try? JSONValue(parsing: body) else {
                Issue.record("bad frame on the output: \(event)")
                continue
            }
            values.append(value)
        }
    }
    return values
}

/// Polls `condition` every millisecond for up to `seconds`.
private func eventually(seconds: Int = 10, _ condition: () -> Bool) -> Bool {
    for _ in 0..<(seconds * 1000) {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// Answers `echo` with its params and everything else with method-not-found.
private let echoServer: @Sendable (JSONRPCMessage, JSONRPCConnection) -> Void = { message, connection in
    guard case .request(let id, let method, let params) = message else { return }
    if method == "echo" {
        connection.sendResponse(to: id, result: params ?? .null)
    } else {
        connection.sendError(to: id, .methodNotFound(method))
    }
}

extension JSONRPCModuleTests {
    @Suite struct JSONRPCConnectionTests {
        @Test func requestsInResponsesOut() throws {
            let toServer = PipeEnds(), fromServer = PipeEnds()
            let connection = JSONRPCConnection(input: toServer.readEnd, output: fromServer.writeEnd)
            let recorder = Recorder(reaction: echoServer)
            connection.start(handler: recorder)

            writeAll(toServer.writeEnd,
                frame(#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":[1,"é"]}}"#)
                + frame(#"{"jsonrpc":"2.0","method":"note","params":{}}"#)
                + frame(#"{"jsonrpc":"2.0","id":"s","method":"nope"}"#))
            let output = readMessages(from: fromServer.readEnd, count: 2)
            #expect(output.map(text) == [
                #"{"jsonrpc":"2.0","id":1,"result":{"x":[1,"é"]}}"#,
                #"{"jsonrpc":"2.0","id":"s","error":{"code":-32601,"message":"method not found: nope"}}"#,
            ])
            #expect(recorder.messages.withLock { $0 }.count == 3)
            #expect(recorder.messages.withLock { $0 }.dropFirst().first == .notification(method: "note", params: [:]))

            toServer.closeWriteEnd()
            connection.waitUntilClosed()
            #expect(recorder.closed.withLock { $0 })
        }

        @Test func outgoingRequestsAreRoutedToTheirCompletions() throws {
            let toServer = PipeEnds(), fromServer = PipeEnds()
            let connection = JSONRPCConnection(input: toServer.readEnd, output: fromServer.writeEnd)
            let recorder = Recorder()
            connection.start(handler: recorder)
            let results = Mutex<[String: Result<JSONValue, ResponseError>]>([:])

            let first = connection.sendRequest("workspace/configuration", params: ["items": []]) { result in
                results.withLock { $0["first"] = result }
            }
            let second = connection.sendRequest("window/workDoneProgress/create") { result in
                results.withLock { $0["second"] = result }
            }
            let third = connection.sendRequest("never/answered") { result in
                results.withLock { $0["third"] = result }
            }
            #expect(Set([first, second, third]).count == 3)
            let sent = readMessages(from: fromServer.readEnd, count: 3)
            #expect(sent.map { $0["method"]?.stringValue } == ["workspace/configuration", "window/workDoneProgress/create", "never/answered"])
            #expect(sent.map { $0["id"] } == [first.jsonValue, second.jsonValue, third.jsonValue])
            #expect(sent[0]["params"] == ["items": []])

            // Answer out of order, plus a response nobody asked for.
            writeAll(toServer.writeEnd,
                frame(#"{"jsonrpc":"2.0","id":\#(second.jsonValue),"result":[1]}"#)
                + frame(#"{"jsonrpc":"2.0","id":\#(first.jsonValue),"error":{"code":-32800,"message":"cancelled"}}"#)
                + frame(#"{"jsonrpc":"2.0","id":999,"result":true}"#))
            #expect(eventually { results.withLock { $0.count } == 2 })
            #expect(results.withLock { $0["second"] } == .success([1]))
            #expect(results.withLock { $0["first"] } == .failure(ResponseError(code: .requestCancelled, message: "cancelled")))
            #expect(eventually { recorder.messages.withLock { $0 } == [.response(id: .int(999), result: true)] })

            // At EOF the unanswered request fails instead of waiting forever.
            toServer.closeWriteEnd()
            connection.waitUntilClosed()
            #expect(results.withLock { $0["third"] }
                == .failure(.internalError("connection closed before the response arrived")))
            #expect(recorder.closed.withLock { $0 })
        }

        @Test func malformedInputIsAnsweredAndReadingContinues() throws {
            let toServer = PipeEnds(), fromServer = PipeEnds()
            let connection = JSONRPCConnection(input: toServer.readEnd, output: fromServer.writeEnd, maximumMessageSize: 200)
            let recorder = Recorder(reaction: echoServer)
            connection.start(handler: recorder)

            let oversized = #"{"jsonrpc":"2.0","method":"big","params":[""# + String(repeating: "x", count: 300) + #""]}"#
            writeAll(toServer.writeEnd,
                frame("{x}")
                + frame(#"{"jsonrpc":"2.0","id":7,"method":5}"#)
                + bytes("Content-Lenght: 2\r\n\r\n")
                + frame(oversized)
                + frame(#"[{"jsonrpc":"2.0","id":8,"method":"echo"}]"#)
                + frame(#"{"jsonrpc":"2.0","id":9,"method":"echo","params":[true]}"#))
            let output = readMessages(from: fromServer.readEnd, count: 6)
            #expect(output.count == 6)
            #expect(output.map { $0["id"] } == [.null, 7, .null, .null, .null, 9])
            #expect(output.map { $0["error"]?["code"]?.intValue } == [-32700, -32600, -32700, -32600, -32600, nil])
            #expect(output.last?["result"] == [true])
            #expect(output[1]["error"]?["message"] == "method must be a string, found integer")

            toServer.closeWriteEnd()
            connection.waitUntilClosed()
            #expect(recorder.messages.withLock { $0 }.count == 1)
        }

        @Test func concurrentSendersNeverInterleave() throws {
            let toServer = PipeEnds(), fromServer = PipeEnds()
            let connection = JSONRPCConnection(input: toServer.readEnd, output: fromServer.writeEnd)
            let (threads, perThread) = (6, 60)
            let received = Mutex<[JSONValue]>([])
            let drained = DispatchSemaphore(value: 0)
            let reader = fromServer.readEnd
            DispatchQueue.global().async {
                let values = readMessages(from: reader, count: threads * perThread, seconds: 20)
                received.withLock { $0 = values }
                drained.signal()
            }
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                for sequence in 0..<perThread {
                    // Every seventh message exceeds the 64 KiB pipe buffer, forcing partial writes.
                    let size = sequence % 7 == 0 ? 70_000 + thread : 10 + sequence
                    let payload = String(repeating: Character(Unicode.Scalar(UInt8(97 + thread))), count: size)
                    connection.sendNotification("t", params: ["thread": .int(Int64(thread)), "seq": .int(Int64(sequence)), "data": .string(payload)])
                }
            }
            drained.wait()
            let values = received.withLock { $0 }
            #expect(values.count == threads * perThread)
            for thread in 0..<threads {
                let mine = values.filter { $0["params"]?["thread"]?.intValue == Int64(thread) }
                #expect(mine.map { $0["params"]?["seq"]?.intValue } == (0..<perThread).map { Int64($0) })
                for message in mine {
                    let sequence = Int(message["params"]?["seq"]?.intValue ?? -1)
                    let expected = String(repeating: Character(Unicode.Scalar(UInt8(97 + thread))),
                        count: sequence % 7 == 0 ? 70_000 + thread : 10 + sequence)
                    if message["params"]?["data"]?.stringValue != expected { Issue.record("payload of \(thread)/\(sequence) damaged") }
                }
            }
            toServer.closeWriteEnd()
            connection.start(handler: Recorder())
            connection.waitUntilClosed()
        }

        /// After a burst of large messages the reader gives the freed memory back once the input is
        /// quiet; before, the allocator kept its high-water mark for the life of the server.
        @Test func memoryFromLargeMessagesIsGivenBackWhenTheInputIsQuiet() throws {
            let toServer = PipeEnds(), fromServer = PipeEnds()
            let connection = JSONRPCConnection(input: toServer.readEnd, output: fromServer.writeEnd)
            connection.start(handler: EchoOnly())
            // About 1 MB each, of many small JSON values: a large didChange has this shape, and its
            // tree is many small allocations that the allocator keeps once they are freed.
            let item = #"{"range":{"start":{"line":0,"character":0},"end":{"line":0,"character":1}},"text":"a"},"#
            let large = frame(#"{"jsonrpc":"2.0","method":"big","params":{"changes":["# + String(repeating: item, count: 12_100)
                + #"{}]}}"#)
            #expect(large.count > 1 << 20)
            _ = readMessages(from: fromServer.readEnd, count: 0)
            let before = residentBytes()
            for _ in 0..<20 { writeAll(toServer.writeEnd, large) }
            writeAll(toServer.writeEnd, frame(#"{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}"#))
            #expect(readMessages(from: fromServer.readEnd, count: 1).count == 1)
            let peak = residentBytes()
            let settled = eventually(seconds: 5) { residentBytes() - before < 8 << 20 }
            let after = residentBytes()
            print("RSS before \(before >> 20) MB, after 20 large messages \(peak >> 20) MB, once quiet \(after >> 20) MB")
            #expect(settled, "RSS stayed \((after - before) >> 20) MB above where it started (peak \((peak - before) >> 20) MB)")
            toServer.closeWriteEnd()
            connection.waitUntilClosed()
        }

        @Test func aVanishedClientDoesNotKillTheProcess() throws {
            let toServer = PipeEnds(), fromServer = PipeEnds()
            let connection = JSONRPCConnection(input: toServer.readEnd, output: fromServer.writeEnd)
            #expect(connection.isOutputClosed == false)
            // With no reader left, a write raises SIGPIPE (ignored by the connection) and fails with EPIPE.
            fromServer.closeReadEnd()
            connection.sendNotification("hello", params: ["x": 1])
            #expect(connection.isOutputClosed)
            connection.sendNotification("dropped")
        }
    }
}
