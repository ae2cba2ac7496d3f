/// What went wrong with a document notification; the server logs it and carries on.
public enum DocumentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A change, close or save named a document that is not open.
    case unknownDocument(DocumentURI, method: String)
    /// `didOpen` for a document that is already open (the new text replaces the old).
    case alreadyOpen(DocumentURI)

    public var description: String {
        switch self {
        case .unknownDocument(let uri, let method):
            return "\(method): \(uri) is not open; notification ignored"
        case .alreadyOpen(let uri):
            return "textDocument/didOpen: \(uri) was already open; its text is replaced"
        }
    }
}

/// The open documents, keyed by URI, in the order they were last touched.
public struct DocumentStore: Sendable {
    private var documents: [DocumentURI: TextDocument] = [:]
    /// URIs by last use, most recent last: context assembly prefers recently edited files.
    private var recency: [DocumentURI] = []

    /// An empty store.
    public init() {}

    /// The open document at `uri`.
    public subscript(uri: DocumentURI) -> TextDocument? { documents[uri] }

    /// Number of open documents.
    public var count: Int { documents.count }

    /// Every open document, most recently touched first.
    public var byRecency: [TextDocument] { recency.reversed().compactMap { documents[$0] } }

    /// Opens (or, if already open, replaces) a document.
    @discardableResult
    public mutating func open(_ item: TextDocumentItem) -> DocumentError? {
        let wasOpen = documents[item.uri] != nil
        documents[item.uri] = TextDocument(uri: item.uri, languageId: item.languageId, version: item.version, text: item.text)
        touch(item.uri)
        return wasOpen ? .alreadyOpen(item.uri) : nil
    }

    /// Applies the changes of one `didChange` in order.
    public mutating func change(_ params: DidChangeTextDocumentParams, encoding: PositionEncoding) throws(DocumentError) {
        let uri = params.textDocument.uri
        guard var document = documents.removeValue(forKey: uri) else {
            throw .unknownDocument(uri, method: "textDocument/didChange")
        }
        // Taken out of the dictionary first so the byte array is uniquely referenced and edited in place.
        for change in params.contentChanges { document.apply(change, encoding: encoding) }
        document.setVersion(params.textDocument.version)
        documents[uri] = document
        touch(uri)
    }

    /// Closes a document.
    public mutating func close(_ uri: DocumentURI) throws(DocumentError) {
        guard documents.removeValue(forKey: uri) != nil else {
            throw .unknownDocument(uri, method: "textDocument/didClose")
        }
        recency.removeAll { $0 == uri }
    }

    /// Notes a save; with `text` (when the client includes it) the stored text is replaced.
    public mutating func save(_ uri: DocumentURI, text: String?) throws(DocumentError) {
        guard var document = documents.removeValue(forKey: uri) else {
            throw .unknownDocument(uri, method: "textDocument/didSave")
        }
        if let text { document.apply(TextDocumentContentChangeEvent(range: nil, text: text), encoding: .utf16) }
        documents[uri] = document
    }

    private mutating func touch(_ uri: DocumentURI) {
        if recency.last == uri { return }
        recency.removeAll { $0 == uri }
        recency.append(uri)
    }
}
