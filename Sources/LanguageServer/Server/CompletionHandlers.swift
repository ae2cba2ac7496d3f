import JSONRPC
import Logging
import Model

/// `textDocument/inlineCompletion` and `textDocument/completion`: one pipeline, two result shapes.
extension LanguageServer {
    /// What a request handler needs from the state, copied under the lock.
    struct Snapshot {
        var document: TextDocument
        var neighbours: [NeighbourFile]
        var encoding: PositionEncoding
        var configuration: ServerConfiguration
    }

    func snapshot(_ uri: DocumentURI) throws(ResponseError) -> Snapshot {
        let found = state.withLock { state -> Snapshot? in
            guard let document = state.documents[uri] else { return nil }
            let neighbours = state.documents.byRecency.lazy.filter { $0.uri != uri }.prefix(ContextAssembler.maxNeighbours)
                .map { NeighbourFile(uri: $0.uri, version: $0.version, bytes: $0.bytes) }
            return Snapshot(document: document, neighbours: Array(neighbours),
                            encoding: state.encoding, configuration: state.configuration)
        }
        guard let found else { throw .invalidParams("document \(uri) is not open (send textDocument/didOpen first)") }
        return found
    }

    func inlineCompletion(_ params: InlineCompletionParams, _ responder: Responder<InlineCompletionRequest>) throws(ResponseError) {
        let snapshot = try snapshot(params.textDocument.uri)
        guard snapshot.configuration.enabled else { return responder.reply(InlineCompletionList(items: [])) }
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
        let invoked = params.context.triggerKind == .invoked, selectedText = typed
        startCompletion(input: input, invoked: invoked, configuration: snapshot.configuration, responder: responder) { candidates in
            InlineCompletionList(items: candidates.map { InlineCompletionItem(insertText: selectedText + $0, range: range) })
        }
    }

    func completion(_ params: CompletionParams, _ responder: Responder<CompletionRequest>) throws(ResponseError) {
        let snapshot = try snapshot(params.textDocument.uri)
        guard snapshot.configuration.enabled else { return responder.reply(CompletionList(isIncomplete: true, items: [])) }
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
        // No context: the client did not say, so it is the user's request.
        let invoked = (params.context?.triggerKind ?? .invoked) == .invoked
        startCompletion(input: input, invoked: invoked, configuration: snapshot.configuration, responder: responder) { candidates in
            let items = candidates.enumerated().map { index, candidate in
                let text = word + candidate
                let firstLine = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? text
                return CompletionItem(label: firstLine.count > 80 ? String(firstLine.prefix(79)) + "…" : firstLine,
                                      kind: .text, detail: "Understudy", sortText: "\(index)", filterText: text,
                                      insertTextFormat: .plainText, textEdit: TextEdit(range: range, newText: text))
            }
            // Incomplete: the answer depends on the exact cursor, so the client must ask again as the user types.
            return CompletionList(isIncomplete: true, items: items)
        }
    }

    static func isWordByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || byte == UInt8(ascii: "_") || (byte >= 0x30 && byte <= 0x39)
            || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
    }

    /// The pipeline's settings for a completion request: one candidate while the user types, the
    /// configured number when the user asked.
    static func completionSettings(_ configuration: ServerConfiguration, input: CompletionInput, invoked: Bool) -> CompletionSettings {
        let candidates = invoked ? configuration.candidates : 1
        return CompletionSettings.atCursor(input, candidates: candidates, maxNewTokens: configuration.maxTokens,
                                           temperature: configuration.temperature,
                                           timeBudget: .milliseconds(configuration.timeBudgetMs * candidates))
    }

    /// Registers the request (superseding the document's older work), answers from the typing cache
    /// when it can, and otherwise queues the model work; `result` shapes the candidates.
    ///
    /// Tiered (a draft model configured, one candidate): the draft model answers, then the model
    /// writes its own answer for the same cursor into the typing cache, where the document's next
    /// request finds it (`refine`).
    func startCompletion<Request: RequestType>(input: CompletionInput, invoked: Bool, configuration: ServerConfiguration,
                                               responder: Responder<Request>,
                                               result: @escaping @Sendable ([String]) -> Request.Response) {
        let settings = Self.completionSettings(configuration, input: input, invoked: invoked)
        // An explicit request for several candidates goes to the model: the cache may hold fewer.
        let usesCache = settings.candidates == 1
        let tiered = usesCache && configuration.tieredDraftPath != nil
        let flag = CancellationFlag(outlivesCancellation: true)
        let refinement = tiered ? CancellationFlag() : nil
        let cached = state.withLock { state -> TypingCache.Hit? in
            let hit = usesCache ? state.typingCache.lookup(uri: input.uri, prefix: input.prefix, suffix: input.suffix) : nil
            state.supersedeCompletionWork(uri: input.uri, prefix: input.prefix, suffix: input.suffix, needsModel: hit == nil)
            if hit != nil { return hit }
            state.pending[responder.id] = flag
            state.addCompletionWork(CompletionWork(flag: flag, prefix: input.prefix, suffix: input.suffix, isRefinement: false), uri: input.uri)
            if let refinement {
                state.addCompletionWork(CompletionWork(flag: refinement, prefix: input.prefix, suffix: input.suffix, isRefinement: true),
                                        uri: input.uri)
            }
            return nil
        }
        // bench-lsp counts these lines (and the model's answers among them, when tiered).
        let fromCache: @Sendable (TypingCache.Hit) -> Request.Response = { [logger] hit in
            logger.debug("\(responder.id): answered from the typing cache\(tiered && !hit.fromDraft ? " (the model's answer, after the draft model's)" : "")")
            return result(hit.candidates)
        }
        if let cached { return responder.reply(fromCache(cached)) }
        let job = ModelJob(responder: responder, flag: flag, uri: input.uri, progress: nil,
                           // A superseded request gets an empty answer: the client did not cancel it,
                           // and an error would be shown to the user.
                           whenSuperseded: { .success(result([])) },
                           whenNoModel: { [self] problem in
                               explainMissingModel(problem, connection: responder.connection)
                               return .success(result([]))
                           })
        submit(job, configuration: configuration, role: tiered ? .draft : .completion) { [self] pipeline in
            // Work that ran before this job (a generation the user typed along) may have answered it.
            if usesCache, let hit = state.withLock({ $0.typingCache.lookup(uri: input.uri, prefix: input.prefix, suffix: input.suffix) }) {
                return fromCache(hit)
            }
            let outcome = try pipeline.complete(input, settings: settings) { flag.shouldStop($0) }
            if !flag.isStopped {
                state.withLock { state in
                    state.typingCache.store(uri: input.uri, prefix: input.prefix, suffix: input.suffix,
                                            candidates: outcome.candidates, multiLine: settings.multiLine, fromDraft: tiered)
                }
            }
            logger.debug("\(responder.id): \(outcome.candidates.count) candidates\(tiered ? " (draft model)" : ""); prompt \(outcome.promptTokens) tokens (\(outcome.reusedTokens) cached), \(outcome.generatedTokens) generated in \(outcome.elapsed)")
            return result(outcome.candidates)
        }
        if let refinement {
            refine(input, settings: settings, configuration: configuration, flag: refinement, connection: responder.connection)
        }
    }

    /// The model's answer for a cursor the draft model answered: written into the typing cache, where
    /// it replaces the draft model's, unless the document's next request stops it first. A generation
    /// cut by the time budget (here 4 × the request's) is not kept: it would replace a whole line with
    /// part of one.
    private func refine(_ input: CompletionInput, settings: CompletionSettings, configuration: ServerConfiguration,
                        flag: CancellationFlag, connection: JSONRPCConnection) {
        var longer = settings
        longer.timeBudget = settings.timeBudget.map { $0 * 4 }
        let settings = longer
        worker.submit(configuration: configuration, role: .completion) { [self] result in
            defer { state.withLock { $0.removeCompletionWork(flag: flag, uri: input.uri) } }
            guard !flag.isStopped else { return }
            let pipeline: CompletionPipeline
            switch result {
            case .failure(let problem): return explainMissingModel(problem, connection: connection)
            case .success(let loaded): pipeline = loaded
            }
            let done = state.withLock { $0.typingCache.lookup(uri: input.uri, prefix: input.prefix, suffix: input.suffix, modelOnly: true) }
            guard done == nil else { return }
            do {
                let outcome = try pipeline.complete(input, settings: settings) { flag.shouldStop($0) }
                guard !flag.isStopped, outcome.stopReason != .timeBudget else {
                    return logger.debug("refinement at \(input.uri) stopped (\(flag.isStopped ? "superseded" : "time budget"))")
                }
                state.withLock { state in
                    state.typingCache.store(uri: input.uri, prefix: input.prefix, suffix: input.suffix,
                                            candidates: outcome.candidates, multiLine: settings.multiLine)
                }
                logger.debug("refinement at \(input.uri): \(outcome.candidates.count) candidates in \(outcome.elapsed), \(outcome.drafting.total.accepted) of \(outcome.drafting.total.drafted) drafted tokens accepted")
            } catch {
                logger.warning("refinement at \(input.uri) failed: \(error)")
            }
        }
    }
}
