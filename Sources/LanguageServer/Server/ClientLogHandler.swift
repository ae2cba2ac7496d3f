import JSONRPC
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the server's log lines go. Once a client connection is known, every line goes to it as
/// `window/logMessage` with the line's severity, and only errors also go to standard error: editors
/// log a server's standard error as errors (Neovim writes each line to lsp.log as `[ERROR]`), so
/// routine lines there would look like failures. Before a client is connected, or after its
/// output has closed, standard error is the only place left, so every line goes there.
/// Standard output is never written: it carries the protocol.
public final class LogSink: Sendable {
    private let connection = Mutex<JSONRPCConnection?>(nil)
    private let standardError: (@Sendable ([UInt8]) -> Void)?

    /// A sink; tests turn standard error off to keep their output readable.
    public init(standardError: Bool = true) {
        self.standardError = standardError ? writeStandardError : nil
    }

    /// A sink that writes what is meant for standard error to `errorOutput` instead (for tests).
    init(errorOutput: @escaping @Sendable ([UInt8]) -> Void) {
        standardError = errorOutput
    }

    /// Starts forwarding to the client on `connection`.
    public func attach(_ connection: JSONRPCConnection) {
        self.connection.withLock { current in
            if current !== connection { current = connection }
        }
    }

    /// Writes one line.
    public func write(level: Logger.Level, label: String, message: String) {
        let client = connection.withLock { $0 }
        if let client, !client.isOutputClosed {
            let params = LogMessageParams(type: Self.messageType(level), message: message)
            if let value = try? JSONValueEncoder().encode(params) {
                client.sendNotification("window/logMessage", params: value)
            }
        }
        // Checked after sending: the send is what finds out that the client has gone.
        let reachedClient = client.map { !$0.isOutputClosed } ?? false
        if let standardError, !reachedClient || level >= .error {
            standardError(Array("[\(label)] \(level): \(message)\n".utf8))
        }
    }

    static func messageType(_ level: Logger.Level) -> MessageType {
        switch level {
        case .trace, .debug: return .debug
        case .info, .notice: return .info
        case .warning: return .warning
        case .error, .critical: return .error
        }
    }
}

/// A swift-log handler that writes to a `LogSink`; made per logger, so no global logging state.
public struct ClientLogHandler: LogHandler {
    public let label: String
    public let sink: LogSink
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    /// A handler for loggers named `label` at `level` and above.
    public init(label: String, sink: LogSink, level: Logger.Level) {
        self.label = label
        self.sink = sink
        logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var text = event.message.description
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        sink.write(level: event.level, label: label, message: text)
    }
}

/// Writes every byte to standard error, giving up on an error (a closed stderr must not stop the server).
/// write(2) on the descriptor: the C `stderr` stream is shared mutable state to Swift 6.
@Sendable private func writeStandardError(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(STDERR_FILENO, raw.baseAddress! + offset, raw.count - offset)
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
