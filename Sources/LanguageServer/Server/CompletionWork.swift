/// Model work queued or running for one cursor of a document's completions: a request's generation, or
/// the model's refinement of a tiered answer. The document's next request decides what goes on.
struct CompletionWork: Sendable {
    var flag: CancellationFlag
    var prefix: [UInt8]
    var suffix: [UInt8]
    /// The model's answer after the draft model's (tiered completions): it never delays a request's own work.
    var isRefinement: Bool

    /// Most bytes typed since the work's cursor for its generation to go on.
    static let typedAlongLimit = 32

    /// Whether a request at `prefix`/`suffix` is the same cursor or the user typed a few characters on
    /// the same line since: then what this work generates may still answer it from the typing cache.
    func isTypedAlong(prefix newPrefix: [UInt8], suffix newSuffix: [UInt8]) -> Bool {
        guard newSuffix == suffix, newPrefix.count >= prefix.count, newPrefix.count - prefix.count <= Self.typedAlongLimit,
              newPrefix.starts(with: prefix) else { return false }
        return !newPrefix[prefix.count...].contains(0x0A)
    }
}

extension LanguageServer.State {
    /// A new request for `uri` arrived: every earlier request's answer is unwanted. Their generations go
    /// on where the request types along them; a refinement goes on only when the request needs no model
    /// work (it was answered from the typing cache), so that it never delays a first answer.
    mutating func supersedeCompletionWork(uri: DocumentURI, prefix: [UInt8], suffix: [UInt8], needsModel: Bool) {
        for work in completionWork[uri] ?? [] {
            let goesOn = work.isTypedAlong(prefix: prefix, suffix: suffix) && !(work.isRefinement && needsModel)
            guard goesOn else { work.flag.stop(); continue }
            // It stops itself as soon as what it writes and what was typed disagree.
            work.flag.typedAlong(Array(prefix[work.prefix.count...]))
            // A refinement answers no request, so there is nothing to withhold when it goes on.
            if !work.isRefinement { work.flag.cancel(.superseded) }
        }
    }

    /// Stops every generation for `uri` (closed document), or for all documents (settings changed).
    mutating func stopCompletionWork(uri: DocumentURI? = nil) {
        for (key, list) in completionWork where uri == nil || key == uri {
            for work in list { work.flag.stop() }
        }
    }

    mutating func addCompletionWork(_ work: CompletionWork, uri: DocumentURI) {
        completionWork[uri, default: []].append(work)
    }

    /// Forgets finished work.
    mutating func removeCompletionWork(flag: CancellationFlag, uri: DocumentURI) {
        completionWork[uri]?.removeAll { $0.flag === flag }
        if completionWork[uri]?.isEmpty == true { completionWork[uri] = nil }
    }
}
