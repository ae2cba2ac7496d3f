import Dispatch
import Model
import Synchronization

/// Why a job could not get a pipeline.
public enum ModelUnavailable: Error, Equatable, Sendable, CustomStringConvertible {
    /// No model is configured and there is no default model yet.
    case noModel
    /// The configured file could not be loaded.
    case loadFailed(path: String, reason: String)
    /// The configured draft model could not be loaded or cannot draft for the model (vocabulary mismatch).
    case draftFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .noModel:
            return "no model is configured: start the server with --model FILE or set \"model\" in initializationOptions; "
                + "completions stay empty until then"
        case .loadFailed(let path, let reason):
            return "cannot load the model \(path): \(reason); completions stay empty until the setting changes"
        case .draftFailed(let path, let reason):
            return "cannot use the draft model \(path): \(reason); completions stay empty until the setting changes "
                + "(\"draft\": \"none\" runs the model without one)"
        }
    }
}

/// Who cancelled a job, if anyone.
public enum CancellationReason: UInt8, Sendable {
    case none = 0
    /// `$/cancelRequest` or `window/workDoneProgress/cancel`: answered with -32800.
    case client = 1
    /// A newer request for the same document: answered with an empty result.
    case superseded = 2
}

/// A flag a job polls between tokens; set from the reader thread.
///
/// Two things can end a job: its answer is no longer wanted (`reason`), and its generation must stop
/// (`isStopped`). For most jobs they go together. A completion's generation outlives the cancellation
/// of its request: the next request of the document decides (`stop()` unless it types along the same
/// line), because what the generation writes can still answer that request from the typing cache.
public final class CancellationFlag: Sendable {
    private let state = Atomic<UInt8>(0)
    private let stopped = Atomic<Bool>(false)
    /// Whether the generation goes on after `cancel` until `stop()` (completions).
    public let outlivesCancellation: Bool

    /// A flag that is not set.
    public init(outlivesCancellation: Bool = false) { self.outlivesCancellation = outlivesCancellation }

    /// Marks the job's answer unwanted; the first reason wins. Stops the generation too unless it
    /// outlives cancellation.
    public func cancel(_ reason: CancellationReason) {
        _ = state.compareExchange(expected: 0, desired: reason.rawValue, ordering: .relaxed)
        if !outlivesCancellation { stopped.store(true, ordering: .relaxed) }
    }

    /// Stops the generation now (and marks the answer superseded unless a reason is already set).
    public func stop() {
        _ = state.compareExchange(expected: 0, desired: CancellationReason.superseded.rawValue, ordering: .relaxed)
        stopped.store(true, ordering: .relaxed)
    }

    /// The reason, or `.none`.
    public var reason: CancellationReason { CancellationReason(rawValue: state.load(ordering: .relaxed)) ?? .none }
    /// Whether any reason is set.
    public var isCancelled: Bool { reason != .none }
    /// Whether the generation must stop.
    public var isStopped: Bool { stopped.load(ordering: .relaxed) }

    /// What the user typed after the job's cursor since it started (the document's latest request that
    /// typed along its generation).
    private let typed = Mutex<[UInt8]>([])

    /// Records that the document's latest request has `bytes` after the job's cursor.
    public func typedAlong(_ bytes: [UInt8]) { typed.withLock { $0 = bytes } }

    /// Whether a completion's generation must stop after `progress`: when stopped, and for good once its
    /// greedy candidate's text and what the user typed since disagree (no request could be answered
    /// with it then, and the worker is wanted for the next one).
    public func shouldStop(_ progress: CompletionProgress) -> Bool {
        if isStopped { return true }
        guard progress.candidate == 0 else { return false }
        let typed = typed.withLock { $0 }
        let common = min(typed.count, progress.text.count)
        if typed.prefix(common).elementsEqual(progress.text.prefix(common)) { return false }
        stop()
        return true
    }
}

/// Which model a job runs: the completion model, the teacher that the model-backed edits ("Complete
/// function body", edit with instruction) use when one is configured, or the draft model alone (the
/// first answer of a tiered completion).
public enum ModelRole: Sendable, Hashable {
    case completion, teacher, draft

    /// The model file this role loads under `configuration`.
    public func path(in configuration: ServerConfiguration) -> String? {
        switch self {
        case .completion: return configuration.resolvedModelPath
        case .teacher: return configuration.teacherPath ?? configuration.resolvedModelPath
        case .draft: return configuration.draftPath ?? configuration.resolvedModelPath
        }
    }
}

/// Runs model work off the message-reading thread, one job at a time, on one `CompletionPipeline`
/// per model (the completion model, the teacher when one is configured, the draft model when it
/// answers first in tiered completions).
///
/// One pipeline per model keeps one KV cache, so each request reuses what the previous one evaluated.
/// A model is loaded on the worker's queue the first time a job needs it (and again when its path or
/// the thread count changes), so `initialize` never waits for a load. A teacher that is the same file
/// as the completion model shares its pipeline.
public final class ModelWorker: @unchecked Sendable {
    // `slots` is touched only on `queue`; that confinement is what the @unchecked Sendable stands for.
    private let queue = DispatchQueue(label: "understudy.model-worker", qos: .userInitiated)
    private var slots: [ModelRole: Slot] = [:]

    private struct Slot {
        var pipeline: CompletionPipeline?
        var loaded: LoadedKey?
        var failure: (key: String, error: ModelUnavailable)?
    }

    /// What a pipeline was built for: another value builds another pipeline.
    private struct LoadedKey: Equatable {
        var path: String, threads: Int, contextTokens: Int
        var draftPath: String?, speculation: SpeculationSettings?
    }

    /// A worker with nothing loaded.
    public init() {}

    /// Queues `job`; it receives the pipeline of `role` for `configuration`, or why there is none.
    public func submit(configuration: ServerConfiguration, role: ModelRole = .completion,
                       _ job: @escaping @Sendable (Result<CompletionPipeline, ModelUnavailable>) -> Void) {
        queue.async { [self] in job(pipeline(for: configuration, role: role)) }
    }

    /// Loads the configured models now (in the background), so the first request does not wait for them.
    public func preload(configuration: ServerConfiguration,
                        onFailure: @escaping @Sendable (ModelUnavailable) -> Void) {
        submit(configuration: configuration) { result in
            if case .failure(let error) = result { onFailure(error) }
        }
        var roles: [ModelRole] = []
        if configuration.teacherPath != nil { roles.append(.teacher) }
        if configuration.tieredDraftPath != nil { roles.append(.draft) }
        for role in roles {
            submit(configuration: configuration, role: role) { result in
                if case .failure(let error) = result { onFailure(error) }
            }
        }
    }

    /// Blocks until every job queued so far has run (tests and shutdown).
    public func drain() { queue.sync {} }

    private func pipeline(for configuration: ServerConfiguration, role: ModelRole) -> Result<CompletionPipeline, ModelUnavailable> {
        guard let path = role.path(in: configuration) else { return .failure(.noModel) }
        // A teacher that is the completion model shares its pipeline (and KV cache).
        let role = path == configuration.resolvedModelPath ? .completion : role
        // Drafting speeds up the completion model with the configured draft model, and a separate
        // teacher with the completion model when that is a student of it (the same or a cut
        // vocabulary; else prompt lookup alone). The draft model answering alone does not draft.
        let speculation: SpeculationSettings?
        let draftPath: String?
        switch role {
        case .completion:
            speculation = configuration.speculation
            draftPath = speculation == nil ? nil : configuration.draftPath
        case .teacher:
            speculation = SpeculationSettings(promptLookup: configuration.lookup ?? true)
            draftPath = configuration.resolvedModelPath
        case .draft:
            speculation = nil
            draftPath = nil
        }
        let key = LoadedKey(path: path, threads: configuration.threads, contextTokens: configuration.contextTokens,
                            draftPath: draftPath, speculation: speculation)
        let failureKey = path + "|" + (draftPath ?? "")
        var slot = slots[role] ?? Slot()
        defer { slots[role] = slot }
        if let pipeline = slot.pipeline, let loaded = slot.loaded, loaded == key { return .success(pipeline) }
        if let failure = slot.failure, failure.key == failureKey { return .failure(failure.error) }
        let previous = slot.pipeline
        slot.pipeline = nil
        do {
            // A thread-count change keeps the mapped model and only builds a new context.
            let model: LlamaModel
            if let current = previous?.model, current.path == path { model = current } else { model = try LlamaModel(path: path) }
            // The draft model, reused from the previous pipeline when it is the same file.
            func draftModel(_ path: String) throws -> LlamaModel {
                if let current = previous?.draft?.model, current.path == path { return current }
                return try LlamaModel(path: path)
            }
            func build(draft: LlamaModel?) throws(SpeculativeError) -> CompletionPipeline {
                guard let speculation else {
                    return CompletionPipeline(model: model, threads: configuration.threads, promptTokens: configuration.contextTokens)
                }
                return try CompletionPipeline(model: model, threads: configuration.threads, promptTokens: configuration.contextTokens,
                                              speculation: speculation, draftModel: draft)
            }
            let created: CompletionPipeline
            if role == .teacher {
                // The completion model drafts for a teacher it is a student of; otherwise (another
                // vocabulary, or it cannot be loaded: the completion role reports that) prompt lookup alone.
                // Without a draft model building cannot throw.
                created = (try? build(draft: draftPath.flatMap { try? draftModel($0) })) ?? (try! build(draft: nil))
            } else {
                do {
                    created = try build(draft: draftPath.map(draftModel))
                } catch {
                    let problem = ModelUnavailable.draftFailed(path: draftPath ?? "", reason: "\(error)")
                    slot.failure = (failureKey, problem)
                    return .failure(problem)
                }
            }
            slot.pipeline = created
            slot.loaded = key
            slot.failure = nil
            return .success(created)
        } catch {
            let problem = ModelUnavailable.loadFailed(path: path, reason: "\(error)")
            slot.failure = (failureKey, problem)
            return .failure(problem)
        }
    }
}
