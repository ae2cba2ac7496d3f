import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Receives what arrives on a `JSONRPCConnection`.
public protocol JSONRPCMessageHandler: AnyObject, Sendable {
    /// Called on the connection's reader thread, one message at a time in arrival order, for
    /// requests, notifications, and responses that match no request this side sent.
    func handle(_ message: JSONRPCMessage, on connection: JSONRPCConnection)
    /// Called once, on the reader thread, after the input reached EOF (or failed to read).
    func connectionClosed(_ connection: JSONRPCConnection)
}

/// A JSON-RPC 2.0 connection over two file descriptors (stdin/stdout in production, pipes in tests).
///
/// A reader thread decodes incoming messages and hands them to the handler; malformed input is
/// answered with the JSON-RPC error response and reading goes on. Any thread may send; a lock
/// keeps each framed message contiguous on the output. Only framed protocol messages are ever
/// written to the output descriptor.
public final class JSONRPCConnection: Sendable {
    /// Called with the result of a request this side sent.
    public typealias ResponseHandler = @Sendable (Result<JSONValue, ResponseError>) -> Void

    private let input: Int32
    private let output: Int32
    private let maximumMessageSize: Int
    // Held for the whole write of one frame, which is what keeps concurrent senders from
    // interleaving bytes. The flag records that the peer has gone (EPIPE or another write error).
    private let writer = Mutex(false)
    private let state = Mutex(State())

    private struct State {
        var nextRequestID: Int64 = 1
        var pending: [RequestID: ResponseHandler] = [:]
        var reader: pthread_t?
        var started = false
    }

    /// A connection that reads `input` and writes `output`; it does not close either descriptor.
    ///
    /// Ignores SIGPIPE for the whole process: a language server has no use for the signal, and
    /// without this a client that exits first would kill the server in the middle of a write.
    public init(input: Int32, output: Int32, maximumMessageSize: Int = MessageFramer.defaultMaximumMessageSize) {
        self.input = input
        self.output = output
        self.maximumMessageSize = maximumMessageSize
        signal(SIGPIPE, SIG_IGN)
    }

    /// Starts the reader thread; `handler` receives every incoming message until EOF.
    public func start(handler: any JSONRPCMessageHandler) {
        let alreadyStarted = state.withLock { state in
            defer { state.started = true }
            return state.started
        }
        precondition(!alreadyStarted, "JSONRPCConnection.start called twice")
        let body = ThreadBody { [self] in readLoop(handler: handler) }
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, Unmanaged.passRetained(body).toOpaque())
        precondition(status == 0, "could not start the JSON-RPC reader thread (error \(status))")
        state.withLock { $0.reader = thread }
    }

    /// Blocks until the reader thread has finished (after `connectionClosed` returned).
    /// Call it from one place only, and never from the handler.
    public func waitUntilClosed() {
        guard let thread = state.withLock({ state in
            defer { state.reader = nil }
            return state.reader
        }) else { return }
        pthread_join(thread, nil)
    }

    /// Whether writing has failed (the peer closed its end); later sends are dropped.
    public var isOutputClosed: Bool { writer.withLock { $0 } }

    /// Writes one message as a frame. Safe to call from any thread.
    public func send(_ message: JSONRPCMessage) {
        let frame = MessageFramer.frame(message.serialized())
        writer.withLock { closed in
            guard !closed else { return }
            if !writeAll(frame) { closed = true }
        }
    }

    /// Sends a notification.
    public func sendNotification(_ method: String, params: JSONValue? = nil) {
        send(.notification(method: method, params: params))
    }

    /// Sends a successful response to the request `id`.
    public func sendResponse(to id: RequestID, result: JSONValue) {
        send(.response(id: id, result: result))
    }

    /// Sends an error response; `id` is nil when the failing message's id is unknown.
    public func sendError(to id: RequestID?, _ error: ResponseError) {
        send(.error(id: id, error))
    }

    /// Sends a request under a fresh id; `completion` runs on the reader thread with the answer,
    /// or with an internal error if the input ends first.
    @discardableResult
    public func sendRequest(
        _ method: String, params: JSONValue? = nil, completion: @escaping ResponseHandler
    ) -> RequestID {
        // Register before sending so that even an immediate answer finds its callback.
        let id = state.withLock { state in
            let id = RequestID.int(state.nextRequestID)
            state.nextRequestID += 1
            state.pending[id] = completion
            return id
        }
        send(.request(id: id, method: method, params: params))
        return id
    }

    // MARK: - Reading

    /// A message at least this large makes the reader give freed memory back once the input is quiet.
    static let memoryReturnThreshold = 256 << 10

    private func readLoop(handler: any JSONRPCMessageHandler) {
        var framer = MessageFramer(maximumMessageSize: maximumMessageSize)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var returnMemoryWhenQuiet = false
        while true {
            // After a large message the allocator keeps its peak (the body, the JSON tree, the text
            // decoded from it) for reuse, and a language server lives for hours: give it back when
            // nothing more is waiting, so a burst of large messages is not slowed down by it.
            if returnMemoryWhenQuiet && !inputIsWaiting() {
                returnFreedMemory()
                returnMemoryWhenQuiet = false
            }
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            let results = buffer.withUnsafeBytes { framer.feed(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            for result in results {
                switch result {
                case .success(let body):
                    if body.count >= Self.memoryReturnThreshold { returnMemoryWhenQuiet = true }
                    receive(body, handler: handler)
                case .failure(let error):
                    answerFramingError(error)
                }
            }
        }
        let orphans = state.withLock { state in
            defer { state.pending = [:] }
            return state.pending.values
        }
        for completion in orphans {
            completion(.failure(.internalError("connection closed before the response arrived")))
        }
        handler.connectionClosed(self)
    }

    /// Whether input can be read right now without waiting.
    private func inputIsWaiting() -> Bool {
        var poller = pollfd(fd: input, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 0) > 0
    }

    private func receive(_ body: [UInt8], handler: any JSONRPCMessageHandler) {
        let message: JSONRPCMessage
        do {
            message = try JSONRPCMessage(parsing: body)
        } catch {
            send(error.response)
            return
        }
        switch message {
        case .response(let id, let result):
            if let completion = takePending(id) { return completion(.success(result)) }
        case .error(let id?, let error):
            if let completion = takePending(id) { return completion(.failure(error)) }
        case .request, .notification, .error(nil, _):
            break
        }
        handler.handle(message, on: self)
    }

    private func takePending(_ id: RequestID) -> ResponseHandler? {
        state.withLock { $0.pending.removeValue(forKey: id) }
    }

    /// A framing failure leaves no readable id, so JSON-RPC says: answer with id null.
    private func answerFramingError(_ error: MessageFramingError) {
        switch error {
        case .messageTooLarge:
            sendError(to: nil, .invalidRequest(error.description))
        case .malformedHeader, .headerTooLarge:
            sendError(to: nil, .parseError(error.description))
        }
    }

    // MARK: - Writing

    /// Writes every byte, retrying short writes and interrupts; false once the output is unusable.
    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(output, raw.baseAddress! + offset, raw.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    // A non-blocking output: wait until it drains instead of spinning.
                    var poller = pollfd(fd: output, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&poller, 1, -1)
                } else {
                    return false  // EPIPE when the client has gone, or a real I/O error
                }
            }
            return true
        }
    }
}

/// Hands memory the process freed back to the system. glibc's malloc keeps freed chunks (and the
/// arenas' high-water mark) for reuse; its `malloc_trim` releases the free pages of every arena.
/// Where the C library has no `malloc_trim` (musl, Darwin), the allocator's own policy stands.
func returnFreedMemory() {
    _ = mallocTrim?(0)
}

/// glibc's `malloc_trim(size_t pad)`, looked up at run time: Swift's Glibc module does not export
/// <malloc.h>, and other C libraries do not have it.
private let mallocTrim: (@convention(c) (Int) -> Int32)? = {
    guard let symbol = dlsym(nil, "malloc_trim") else { return nil }  // nil: RTLD_DEFAULT
    return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
}()

/// Carries the reader's closure through pthread_create's untyped context pointer.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}
