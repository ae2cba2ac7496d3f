import Foundation
import Kernels
import Model
import Synchronization
import TestFixtures
import Testing

/// A client for the built `understudy serve` over pipes: frames what it sends, and parses what the
/// server writes to stdout strictly, so anything on stdout that is not a framed JSON-RPC message is caught.
final class ServeProcess: Sendable {
    let process: Process
    private let input: FileHandle
    private let received = Mutex<[Data]>([])
    private let stdoutProblems = Mutex<[String]>([])
    private let stderrBytes = Mutex<Data>(Data())
    private let readersDone = DispatchGroup()

    init(arguments: [String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = ["serve"] + arguments
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        input = inPipe.fileHandleForWriting
        try process.run()
        let outHandle = out.fileHandleForReading, errHandle = err.fileHandleForReading
        readersDone.enter()
        Thread.detachNewThread { [self] in
            var buffer = Data()
            while true {
                let chunk = outHandle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                parseFrames(&buffer)
            }
            if !buffer.isEmpty { stdoutProblems.withLock { $0.append("\(buffer.count) unframed bytes at the end of stdout") } }
            readersDone.leave()
        }
        readersDone.enter()
        Thread.detachNewThread { [self] in
            while true {
                let chunk = errHandle.availableData
                if chunk.isEmpty { break }
                stderrBytes.withLock { $0.append(chunk) }
            }
            readersDone.leave()
        }
    }

    /// Takes every complete `Content-Length` frame off the front of `buffer`; anything else is a problem.
    private func parseFrames(_ buffer: inout Data) {
        let separator = Data("\r\n\r\n".utf8)
        while let end = buffer.range(of: separator) {
            let header = String(decoding: buffer[buffer.startIndex..<end.lowerBound], as: UTF8.self)
            guard header.hasPrefix("Content-Length: "), let length = Int(header.dropFirst(16)), length > 0 else {
                stdoutProblems.withLock { $0.append("bad header on stdout: \(header.debugDescription)") }
                buffer.removeAll()
                return
            }
            guard buffer.count - (end.upperBound - buffer.startIndex) >= length else { return }
            let body = Data(buffer[end.upperBound..<end.upperBound + length])
            buffer = Data(buffer[(end.upperBound + length)...])
            let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
            if object?["jsonrpc"] as? String != "2.0" {
                stdoutProblems.withLock { $0.append("not a JSON-RPC message: \(String(decoding: body, as: UTF8.self))") }
            }
            received.withLock { $0.append(body) }
        }
    }

    // MARK: Sending

    func sendRaw(_ bytes: Data) { input.write(bytes) }

    func send(_ message: [String: Any]) throws {
        let body = try JSONSerialization.data(withJSONObject: message)
        sendRaw(Data("Content-Length: \(body.count)\r\n\r\n".utf8) + body)
    }

    func request(_ id: Int, _ method: String, _ params: Any? = nil) throws {
        var message: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method]
        if let params { message["params"] = params }
        try send(message)
    }

    func notify(_ method: String, _ params: Any? = nil) throws {
        var message: [String: Any] = ["jsonrpc": "2.0", "method": method]
        if let params { message["params"] = params }
        try send(message)
    }

    /// Closes stdin: the server sees the end of its input.
    func closeInput() throws { try input.close() }

    // MARK: Receiving

    /// Every message received so far, decoded.
    var messages: [[String: Any]] {
        received.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    var messageCount: Int { received.withLock { $0.count } }

    /// The response (result or error) to request `id`, waiting up to `seconds`.
    func response(_ id: Int, seconds: Double = 60) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let found = messages.last(where: { ($0["id"] as? Int) == id && $0["method"] == nil }) { return found }
            Thread.sleep(forTimeInterval: 0.002)
        }
        throw ServeFailure("no response to request \(id) within \(seconds) s; stderr: \(stderr.suffix(2000))")
    }

    /// The `result` of request `id`, or a failure naming its error.
    func result(_ id: Int, seconds: Double = 60) throws -> Any {
        let answer = try response(id, seconds: seconds)
        if let error = answer["error"] { throw ServeFailure("request \(id) failed: \(error)") }
        return answer["result"] ?? NSNull()
    }

    var stderr: String { String(decoding: stderrBytes.withLock { $0 }, as: UTF8.self) }
    var problems: [String] { stdoutProblems.withLock { $0 } }

    /// Waits for the process to exit and both output streams to end; nil if it has not exited in time.
    func waitForExit(seconds: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else { return nil }
        _ = readersDone.wait(timeout: .now() + 5)
        return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
    }

    /// Resident set size of the server in kB, from /proc/PID/status.
    func residentKilobytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) else {
            throw ServeFailure("no VmRSS in /proc/\(process.processIdentifier)/status")
        }
        return kb
    }

    func terminateIfRunning() { if process.isRunning { process.terminate() } }
}

struct ServeFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Smoke check of the client itself: a server that gets only `exit` exits 1 and prints nothing.
struct ServeSupportTests {
    @Test func exitWithoutShutdownExitsOneAndPrintsNothing() throws {
        let server = try ServeProcess(arguments: ["--no-default-model"])
        defer { server.terminateIfRunning() }
        try server.notify("exit")
        #expect(server.waitForExit() == 1)
        #expect(server.messageCount == 0)
        #expect(server.problems.isEmpty)
    }
}
