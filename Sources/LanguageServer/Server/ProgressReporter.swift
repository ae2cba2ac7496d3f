import JSONRPC
import Synchronization

/// Reports one long operation through `$/progress`, after asking the client to create the token
/// with `window/workDoneProgress/create` (the spec forbids reporting before the client said yes).
///
/// `begin` goes out when the client accepts the token; `report` and `end` only after `begin`, so a
/// client that refuses never sees a stray notification. When the work ends before the client's
/// answer arrives, the accepted token still gets its `begin` and `end`, back to back, so that every
/// token a client created is closed.
final class ProgressReporter: Sendable {
    let token: ProgressToken
    private let connection: JSONRPCConnection
    private let title: String
    private let state = Mutex(Phase())

    private struct Phase {
        var begun = false
        var finished = false
        var lastPercentage = -1
        var endMessage = ""
    }

    init(token: ProgressToken, title: String, connection: JSONRPCConnection) {
        self.token = token
        self.title = title
        self.connection = connection
    }

    /// Asks the client for the token; `begin` follows its positive answer.
    func start() {
        let params: JSONValue = ["token": token.jsonValue]
        connection.sendRequest("window/workDoneProgress/create", params: params) { [self] result in
            guard case .success = result else { return }
            state.withLock { phase in
                phase.begun = true
                phase.lastPercentage = 0
                send(WorkDoneProgressBegin(title: title, cancellable: true, message: "running the model", percentage: 0))
                if phase.finished { send(WorkDoneProgressEnd(message: phase.endMessage)) }
            }
        }
    }

    /// Reports `done` of `total` generated tokens (only when the percentage moved).
    func report(done: Int, total: Int) {
        let percentage = total > 0 ? min(99, done * 100 / total) : 0
        state.withLock { phase in
            guard phase.begun, !phase.finished, percentage != phase.lastPercentage else { return }
            phase.lastPercentage = percentage
            send(WorkDoneProgressReport(cancellable: true, message: "\(done) tokens", percentage: percentage))
        }
    }

    /// Ends the operation.
    func finish(_ message: String) {
        state.withLock { phase in
            guard !phase.finished else { return }
            phase.finished = true
            phase.endMessage = message
            if phase.begun { send(WorkDoneProgressEnd(message: message)) }
        }
    }

    // Sent under the phase lock so begin, reports and end reach the client in order.
    private func send(_ value: some Encodable) {
        guard let encoded = try? JSONValueEncoder().encode(value) else { return }
        connection.sendNotification("$/progress", params: ["token": token.jsonValue, "value": encoded])
    }
}
