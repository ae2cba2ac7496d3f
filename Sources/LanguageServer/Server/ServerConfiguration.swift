import JSONRPC
import Model

/// The server's settings, from the command line, `initializationOptions` and
/// `workspace/didChangeConfiguration` (later sources override earlier ones key by key).
public struct ServerConfiguration: Sendable, Equatable {
    /// The GGUF model; nil means `defaultModelPath`.
    public var modelPath: String?
    /// The model used when none is configured: the embedded default model, set by `understudy serve`
    /// (nil in a bare configuration, so a server without one answers "no model").
    public var defaultModelPath: String?
    /// The teacher GGUF that "Complete function body" and edit with instruction use (nil: the model).
    public var teacherPath: String?
    /// Threads for one model worker.
    public var threads: Int = 2
    /// Most tokens one completion may generate.
    public var maxTokens: Int = 48
    /// Most tokens of surrounding code in a prompt.
    public var contextTokens: Int = 1024
    /// Wall-clock budget of one inline completion, prompt included.
    public var timeBudgetMs: Int = 400
    /// Temperature of the extra candidates on an invoked trigger (the first candidate is greedy).
    public var temperature: Float = 0.6
    /// When false, completions and code actions answer empty at once.
    public var enabled: Bool = true
    /// Candidates on an invoked inline completion.
    public var candidates: Int = 3
    /// A draft model for speculative decoding (the model's vocabulary or a subset cut from it); nil: none.
    public var draftPath: String?
    /// Whether prompt lookup drafts too; nil: when there is a draft model.
    public var lookup: Bool?
    /// Whether a draft model answers automatic completions first, the model's answer following
    /// through the typing cache; nil: yes when there is a draft model.
    public var tiered: Bool?

    /// The defaults.
    public init() {}

    /// One setting that could not be used, with why.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { "setting \"\(key)\": \(reason); keeping the previous value" }
    }

    /// Applies the members of a settings object; unknown keys and bad values are returned, not thrown,
    /// so one typo does not cost the user the rest of their settings.
    ///
    /// Accepts the settings either at the top level or under an `"understudy"` member, which is
    /// how editors usually namespace `workspace/didChangeConfiguration`.
    public mutating func apply(_ settings: JSONValue) -> [Problem] {
        guard case .object(var object) = settings else {
            return settings.isNull ? [] : [Problem(key: "(settings)", reason: "expected an object, found \(settings.kindName)")]
        }
        if case .object(let nested)? = object["understudy"] { object = nested }
        var problems: [Problem] = []
        for (key, value) in object {
            if let reason = set(key, value) { problems.append(Problem(key: key, reason: reason)) }
        }
        return problems
    }

    private mutating func set(_ key: String, _ value: JSONValue) -> String? {
        func integer(_ range: ClosedRange<Int>) -> Int? {
            guard let raw = value.intValue ?? value.doubleValue.flatMap({ Int64(exactly: $0) }),
                  let number = Int(exactly: raw), range.contains(number) else { return nil }
            return number
        }
        let wantedInteger = { (range: ClosedRange<Int>) in "expected an integer in \(range.lowerBound)...\(range.upperBound), found \(value)" }
        switch key {
        case "model", "modelPath":
            if value.isNull { modelPath = nil; return nil }
            guard let path = value.stringValue, !path.isEmpty else { return "expected a file path, found \(value)" }
            modelPath = path
        case "teacher", "teacherModel":
            if value.isNull { teacherPath = nil; return nil }
            guard let path = value.stringValue, !path.isEmpty else { return "expected a file path, found \(value)" }
            teacherPath = path
        case "threads":
            guard let n = integer(1...256) else { return wantedInteger(1...256) }
            threads = n
        case "maxTokens":
            guard let n = integer(1...1024) else { return wantedInteger(1...1024) }
            maxTokens = n
        case "contextTokens":
            guard let n = integer(16...65536) else { return wantedInteger(16...65536) }
            contextTokens = n
        case "timeBudgetMs":
            guard let n = integer(1...600_000) else { return wantedInteger(1...600_000) }
            timeBudgetMs = n
        case "temperature":
            guard let t = value.doubleValue, t >= 0, t <= 5 else { return "expected a number in 0...5, found \(value)" }
            temperature = Float(t)
        case "enabled", "enable":
            guard let flag = value.boolValue else { return "expected true or false, found \(value)" }
            enabled = flag
        case "candidates":
            guard let n = integer(1...8) else { return wantedInteger(1...8) }
            candidates = n
        case "draft", "draftModel":
            if value.isNull || value.stringValue == "none" { draftPath = nil; return nil }
            guard let path = value.stringValue, !path.isEmpty else { return "expected a file path or \"none\", found \(value)" }
            draftPath = path
        case "lookup":
            if value.isNull { lookup = nil; return nil }
            guard let flag = value.boolValue else { return "expected true, false or null, found \(value)" }
            lookup = flag
        case "tiered":
            if value.isNull { tiered = nil; return nil }
            guard let flag = value.boolValue else { return "expected true, false or null, found \(value)" }
            tiered = flag
        default:
            return "unknown setting"
        }
        return nil
    }

    /// The model file to load: the configured one, else the default.
    public var resolvedModelPath: String? { modelPath ?? defaultModelPath }

    /// The draft model that answers automatic completions first (tiered completions), if any.
    public var tieredDraftPath: String? {
        guard tiered ?? true, let draftPath, draftPath != resolvedModelPath else { return nil }
        return draftPath
    }

    /// How the pipeline drafts: nil when neither a draft model nor prompt lookup is on.
    public var speculation: SpeculationSettings? {
        let usesLookup = lookup ?? (draftPath != nil)
        guard draftPath != nil || usesLookup else { return nil }
        return SpeculationSettings(promptLookup: usesLookup)
    }
}
