import Foundation
import JSONRPC
import Model
import Synchronization
import TestFixtures
import Testing

@testable import LanguageServer

/// The root of every suite here; serialized because the suites share two CPU cores with the model.
@Suite(.serialized) enum LanguageServerModuleTests {}

/// The language-server tests' settings; their model is `Fixtures.lettersModel`.
enum TestModel {
    /// Server settings for tests: the letters model, short generations, generous budgets (debug builds are slow).
    static func configuration(model: Bool = true) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.modelPath = model ? Fixtures.lettersModelPath : nil
        configuration.threads = 1
        configuration.maxTokens = 8
        configuration.contextTokens = 200
        configuration.timeBudgetMs = 20_000
        return configuration
    }
}

/// An answer that arrives later on the client's reader thread.
final class PendingResponse: Sendable {
    let id: RequestID
    private let result = Mutex<Result<JSONValue, ResponseError>?>(nil)

    init(id: RequestID) { self.id = id }

    func fulfil(_ value: Result<JSONValue, ResponseError>) { result.withLock { $0 = value } }

    var current: Result<JSONValue, ResponseError>? { result.withLock { $0 } }

    /// Waits (polling) up to `seconds` for the answer.
    func wait(seconds: Double = 30) async throws -> Result<JSONValue, ResponseError> {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let current { return current }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw TestFailure("no answer to request \(id) within \(seconds) s")
    }

    /// The successful result, or a test failure naming the error.
    func value(seconds: Double = 30) async throws -> JSONValue {
        switch try await wait(seconds: seconds) {
        case .success(let value): return value
        case .failure(let error): throw TestFailure("request \(id) failed: \(error)")
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An in-process client talking to a `LanguageServer` over a pair of pipes.
final class TestClient: JSONRPCMessageHandler {
    let server: LanguageServer
    let serverConnection: JSONRPCConnection
    let connection: JSONRPCConnection
    private let toServer: (read: Int32, write: Int32)
    private let fromServer: (read: Int32, write: Int32)
    private let received = Mutex<[JSONRPCMessage]>([])
    let exit = ExitRecorder()
    private let nextID = Atomic<Int>(1000)

    init(configuration: ServerConfiguration = TestModel.configuration()) {
        func makePipe() -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            precondition(pipe(&fds) == 0)
            return (fds[0], fds[1])
        }
        toServer = makePipe()
        fromServer = makePipe()
        let exit = self.exit
        server = LanguageServer(configuration: configuration, logLevel: .debug, sink: LogSink(standardError: false)) { code in
            exit.record(code)
        }
        serverConnection = JSONRPCConnection(input: toServer.read, output: fromServer.write)
        connection = JSONRPCConnection(input: fromServer.read, output: toServer.write)
        serverConnection.start(handler: server)
        connection.start(handler: self)
    }

    deinit { close() }

    /// Ends the session: closes the client's output (the server sees EOF) and joins both readers.
    func close() {
        guard toServer.write >= 0 else { return }
        Glibc.close(toServer.write)
        serverConnection.waitUntilClosed()
        Glibc.close(fromServer.write)
        connection.waitUntilClosed()
        Glibc.close(toServer.read)
        Glibc.close(fromServer.read)
    }

    // MARK: Sending

    /// Sends a request and returns the handle its answer arrives in.
    @discardableResult
    func request(_ method: String, _ params: JSONValue? = nil) -> PendingResponse {
        let id = RequestID.int(Int64(nextID.wrappingAdd(1, ordering: .relaxed).oldValue))
        let pending = PendingResponse(id: id)
        // Registered before sending: the answer may arrive before `send` returns.
        responses.withLock { $0[id] = pending }
        connection.send(.request(id: id, method: method, params: params))
        return pending
    }

    private let responses = Mutex<[RequestID: PendingResponse]>([:])
    /// Answers to the server's requests held back by `holdServerRequests()` (nil: answer at once).
    private let heldRequests = Mutex<[(RequestID, JSONValue)]?>(nil)

    /// From now on the server's requests wait for `releaseServerRequests()`, as with a slow client.
    func holdServerRequests() { heldRequests.withLock { $0 = $0 ?? [] } }

    /// Answers every held request, in order, and answers later ones at once again.
    func releaseServerRequests() {
        let held = heldRequests.withLock { held -> [(RequestID, JSONValue)] in
            defer { held = nil }
            return held ?? []
        }
        for (id, answer) in held { connection.sendResponse(to: id, result: answer) }
    }

    func notify(_ method: String, _ params: JSONValue? = nil) {
        connection.sendNotification(method, params: params)
    }

    /// `initialize` + `initialized` with the given capabilities; returns the initialize result.
    @discardableResult
    func initialize(capabilities: JSONValue = [:], options: JSONValue? = nil) async throws -> JSONValue {
        var params: JSONValue = ["processId": .null, "capabilities": capabilities]
        if let options { params["initializationOptions"] = options }
        let result = try await request("initialize", params).value()
        notify("initialized", [:])
        return result
    }

    func open(_ uri: String, _ text: String, language: String = "swift", version: Int64 = 1) {
        notify("textDocument/didOpen", ["textDocument": ["uri": .string(uri), "languageId": .string(language),
                                                         "version": .int(version), "text": .string(text)]])
    }

    // MARK: Receiving

    func handle(_ message: JSONRPCMessage, on connection: JSONRPCConnection) {
        switch message {
        case .response(let id, let result):
            received.withLock { $0.append(message) }
            responses.withLock { $0.removeValue(forKey: id) }?.fulfil(.success(result))
        case .error(let id?, let error):
            received.withLock { $0.append(message) }
            responses.withLock { $0.removeValue(forKey: id) }?.fulfil(.failure(error))
        case .request(let id, let method, _):
            received.withLock { $0.append(message) }
            // Accept what the server asks (progress tokens, edits), now or when the test releases it.
            let answer: JSONValue = method == "workspace/applyEdit" ? ["applied": true] : .null
            let answerNow = heldRequests.withLock { held -> Bool in
                guard var queue = held else { return true }
                queue.append((id, answer))
                held = queue
                return false
            }
            if answerNow { connection.sendResponse(to: id, result: answer) }
        default:
            received.withLock { $0.append(message) }
        }
    }

    func connectionClosed(_ connection: JSONRPCConnection) {}

    /// Every message received so far, in order (responses included).
    var allReceived: [JSONRPCMessage] { received.withLock { $0 } }

    /// Params of every notification (and server request) named `method` received so far.
    func messages(_ method: String) -> [JSONValue] {
        received.withLock { messages in
            messages.compactMap { message in
                switch message {
                case .notification(let name, let params) where name == method: return params ?? .null
                case .request(_, let name, let params) where name == method: return params ?? .null
                default: return nil
                }
            }
        }
    }

    /// Waits until `condition` holds (polling), or fails.
    func waitUntil(seconds: Double = 10, _ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting for \(what)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}

/// The exit code the server asked for, if it did.
final class ExitRecorder: Sendable {
    private let value = Mutex<Int32?>(nil)
    func record(_ code: Int32) { value.withLock { $0 = code } }
    var code: Int32? { value.withLock { $0 } }
}

/// Blocks the server's model worker until `release()`, so tests can queue requests deterministically.
final class WorkerGate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)

    init(_ server: LanguageServer) {
        server.worker.submit(configuration: ServerConfiguration()) { [semaphore] _ in semaphore.wait() }
    }

    func release() { semaphore.signal() }
}

/// JSON helpers for assertions.
extension JSONValue {
    /// `items` of a completion or inline-completion list.
    var items: [JSONValue] { self["items"]?.arrayValue ?? [] }
}

func position(_ line: Int64, _ character: Int64) -> JSONValue { ["line": .int(line), "character": .int(character)] }

func inlineParams(_ uri: String, _ line: Int64, _ character: Int64, invoked: Bool = false) -> JSONValue {
    ["textDocument": ["uri": .string(uri)], "position": position(line, character),
     "context": ["triggerKind": invoked ? 1 : 2]]
}
