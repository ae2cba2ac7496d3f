import JSONRPC
import Logging

/// `textDocument/inlineCompletion` and `textDocument/completion`: one engine, two result shapes.
extension LanguageServer {
    /// What a request handler needs from the state, copied under the lock.
    struct Snapshot {
        var document: TextDocument
        var neighbours: [TextDocument]
        var encoding: PositionEncoding
        var configuration: ServerConfiguration
    }

    func snapshot(_ uri: DocumentURI) throws(ResponseError) -> Snapshot {
        let found = state.withLock { state -> Snapshot? in
            guard let document = state.documents[uri] else { return nil }
            let neighbours = state.documents.byRecency.filter { $0.uri != uri }
            return Snapshot(document: document, neighbours: Array(neighbours.prefix(6)),
                            encoding: state.encoding, configuration: state.configuration)
        }
        guard let found else { throw .invalidParams("document \(uri) is not open (send textDocument/didOpen first)") }
        return found
    }

    func inlineCompletion(id: RequestID, _ params: JSONValue?, connection: JSONRPCConnection) throws(ResponseError) -> JSONValue? {
        let params = try decode(InlineCompletionParams.self, params)
        let snapshot = try snapshot(params.textDocument.uri)
        let empty = try encode(InlineCompletionList(items: []))
        guard snapshot.configuration.enabled else { return empty }
        let document = snapshot.document, encoding = snapshot.encoding
        var replaced = document.offset(of: params.position, encoding: encoding)..<document.offset(of: params.position, encoding: encoding)
        var typed = ""
        if let selected = params.context.selectedCompletionInfo {
            // The item must extend the selected menu entry over the same range, so the prompt sees it typed.
            replaced = document.offsets(of: selected.range, encoding: encoding)
            typed = selected.text
        }
        let input = CompletionInput(uri: document.uri, languageId: document.languageId,
                                    prefix: Array(document.bytes[..<replaced.lowerBound]) + Array(typed.utf8),
                                    suffix: Array(document.bytes[replaced.upperBound...]),
                                    neighbours: snapshot.neighbours)
        let range = document.range(of: replaced, encoding: encoding)
        let selectedText = typed
        let invoked = params.context.triggerKind == .invoked
        let settings = completionSettings(snapshot.configuration, input: input, candidates: invoked ? snapshot.configuration.candidates : 1)
        return startCompletion(id: id, input: input, settings: settings, configuration: snapshot.configuration,
                               connection: connection) { candidates in
            let items = candidates.map { InlineCompletionItem(insertText: selectedText + $0, range: range) }
            return (try? JSONValueEncoder().encode(InlineCompletionList(items: items))) ?? empty
        }
    }

    func completion(id: RequestID, _ params: JSONValue?, connection: JSONRPCConnection) throws(ResponseError) -> JSONValue? {
        let params = try decode(CompletionParams.self, params)
        let snapshot = try snapshot(params.textDocument.uri)
        let empty = try encode(CompletionList(isIncomplete: true, items: []))
        guard snapshot.configuration.enabled else { return empty }
        let document = snapshot.document, encoding = snapshot.encoding
        let cursor = document.offset(of: params.position, encoding: encoding)
        // The item replaces the word being typed, so the client's filtering (by that word) keeps it.
        var wordStart = cursor
        while wordStart > 0 && Self.isWordByte(document.bytes[wordStart - 1]) { wordStart -= 1 }
        let word = String(decoding: document.bytes[wordStart..<cursor], as: UTF8.self)
        let range = document.range(of: wordStart..<cursor, encoding: encoding)
        let input = CompletionInput(uri: document.uri, languageId: document.languageId,
                                    prefix: Array(document.bytes[..<cursor]), suffix: Array(document.bytes[cursor...]),
                                    neighbours: snapshot.neighbours)
        let invoked = (params.context?.triggerKind ?? 1) == 1
        let settings = completionSettings(snapshot.configuration, input: input, candidates: invoked ? snapshot.configuration.candidates : 1)
        return startCompletion(id: id, input: input, settings: settings, configuration: snapshot.configuration,
                               connection: connection) { candidates in
            let items = candidates.enumerated().map { index, candidate in
                let text = word + candidate
                let firstLine = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? text
                return CompletionItem(label: firstLine.count > 80 ? String(firstLine.prefix(79)) + "…" : firstLine,
                                      kind: 1, detail: "Understudy", sortText: "\(index)", filterText: text,
                                      insertTextFormat: 1, textEdit: TextEdit(range: range, newText: text))
            }
            // Incomplete: the answer depends on the exact cursor, so the client must ask again as the user types.
            return (try? JSONValueEncoder().encode(CompletionList(isIncomplete: true, items: items))) ?? empty
        }
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || byte == UInt8(ascii: "_") || (byte >= 0x30 && byte <= 0x39)
            || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
    }

    func completionSettings(_ configuration: ServerConfiguration, input: CompletionInput, candidates: Int) -> CompletionSettings {
        CompletionSettings(candidates: candidates, multiLine: input.cursorContext.wantsMultipleLines,
                           maxTokens: configuration.maxTokens, temperature: configuration.temperature,
                           timeBudget: .milliseconds(configuration.timeBudgetMs * candidates))
    }

    /// Registers the request (superseding the document's older one), answers from the typing cache
    /// when it can, and otherwise queues the model work. Returns the immediate answer, or nil when the
    /// worker will answer.
    func startCompletion(id: RequestID, input: CompletionInput, settings: CompletionSettings,
                         configuration: ServerConfiguration, connection: JSONRPCConnection,
                         result: @escaping @Sendable ([String]) -> JSONValue) -> JSONValue? {
        let flag = CancellationFlag()
        let cached = state.withLock { state -> [String]? in
            state.latestCompletion[input.uri]?.cancel(.superseded)
            // An explicit request for several candidates goes to the model: the cache may hold fewer.
            if settings.candidates == 1, let hit = state.cache.lookup(uri: input.uri, prefix: input.prefix, suffix: input.suffix) {
                return hit
            }
            state.pending[id] = flag
            state.latestCompletion[input.uri] = flag
            return nil
        }
        if let cached {
            logger.debug("\(id): answered from the typing cache")
            return result(cached)
        }
        worker.submit(configuration: configuration) { [self] engine in
            defer { finish(id: id, uri: input.uri, flag: flag) }
            if flag.isCancelled { return answerCancelled(id, flag: flag, result: result, connection: connection) }
            switch engine {
            case .failure(let problem):
                explainMissingModel(problem, connection: connection)
                connection.sendResponse(to: id, result: result([]))
            case .success(let engine):
                do {
                    let outcome = try engine.complete(input, settings: settings) { _ in flag.isCancelled }
                    if flag.isCancelled { return answerCancelled(id, flag: flag, result: result, connection: connection) }
                    state.withLock { state in
                        state.cache.store(uri: input.uri, prefix: input.prefix, suffix: input.suffix,
                                          candidates: outcome.candidates, multiLine: settings.multiLine)
                    }
                    logger.debug("\(id): \(outcome.candidates.count) candidates; prompt \(outcome.promptTokens) tokens (\(outcome.reusedTokens) cached), \(outcome.generatedTokens) generated in \(outcome.elapsed)")
                    connection.sendResponse(to: id, result: result(outcome.candidates))
                } catch {
                    logger.error("\(id): completion failed: \(error)")
                    connection.sendError(to: id, .internalError("completion failed: \(error)"))
                }
            }
        }
        return nil
    }

    /// A client cancellation is -32800; a request superseded by a newer one for the same document gets
    /// an empty result, since the client did not cancel it and an error would be reported to the user.
    func answerCancelled(_ id: RequestID, flag: CancellationFlag, result: ([String]) -> JSONValue, connection: JSONRPCConnection) {
        if flag.reason == .client {
            connection.sendError(to: id, .requestCancelled)
        } else {
            connection.sendResponse(to: id, result: result([]))
        }
    }

    func finish(id: RequestID, uri: DocumentURI?, flag: CancellationFlag) {
        state.withLock { state in
            if state.pending[id] === flag { state.pending[id] = nil }
            if let uri, state.latestCompletion[uri] === flag { state.latestCompletion[uri] = nil }
        }
    }
}
