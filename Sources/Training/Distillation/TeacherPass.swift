import Foundation
import Kernels
import Model

/// The settings of a file-order teacher pass; every part file records them, and a run only extends a
/// directory written with the same ones.
public struct TeacherPassSettings: Sendable, Equatable {
    /// Tokens drawn per position (at most 255: counts are stored in a byte).
    public var samples: Int
    public var temperature: Float
    /// Tokens per teacher run: a document longer than this is read in consecutive windows, each from an
    /// empty cache.
    public var window: Int
    /// Seeds the document order and the samples.
    public var seed: UInt64
    public var documentsPerPart: Int

    public init(samples: Int = 32, temperature: Float = 1, window: Int = 1024, seed: UInt64 = 1, documentsPerPart: Int = 16) {
        self.samples = samples
        self.temperature = temperature
        self.window = window
        self.seed = seed
        self.documentsPerPart = documentsPerPart
    }

    public func validate() throws {
        guard (1...255).contains(samples) else { throw DistillationError.invalidSettings("samples must be in 1...255, not \(samples)") }
        guard temperature > 0, temperature.isFinite else { throw DistillationError.invalidSettings("temperature must be positive") }
        guard window >= 2 else { throw DistillationError.invalidSettings("the window must hold at least 2 tokens") }
        guard documentsPerPart >= 1 else { throw DistillationError.invalidSettings("a part holds at least one document") }
    }
}

/// The teacher's sampled next-token distribution after every token of one document, read in file order
/// (no FIM): what a student's prefix and middle tokens are distilled towards when the teacher has no FIM.
public struct TeacherPassDocument: Sendable, Equatable {
    /// The document's index in its shard.
    public var document: Int
    /// The teacher's tokens of the document's text, then its end-of-text token.
    public var tokens: [Int32]
    /// Position k (0 ≤ k < tokens.count − 1) predicts `tokens[k + 1]`; its samples are the pairs
    /// `pairStarts[k]..<pairStarts[k + 1]` of `pairTokens` / `pairCounts` (counts sum to the sample count).
    public var pairStarts: [Int32]
    public var pairTokens: [Int32]
    public var pairCounts: [UInt8]

    /// The samples of position k as (teacher token, count).
    public func samples(at k: Int) -> [(token: Int32, count: UInt8)] {
        (Int(pairStarts[k])..<Int(pairStarts[k + 1])).map { (pairTokens[$0], pairCounts[$0]) }
    }
}

/// A teacher run over the documents of a corpus shard in file order, K tokens sampled per position,
/// stored in part files so that several students and reruns share one pass and an interrupted pass
/// resumes (format: README.md, "Teacher pass").
///
/// The documents are taken in a seeded random order, `documentsPerPart` per part, so a pass stopped
/// early still covers a random sample of the shard; part p always holds the same documents.
public final class TeacherPass: @unchecked Sendable {
    static let magic: [UInt8] = Array("USTPASS1".utf8)
    static let version: UInt32 = 1

    public let settings: TeacherPassSettings
    public let directory: String
    public let shard: TokenShard
    /// The shard's documents in pass order.
    public let order: [Int]
    let header: [UInt8]

    /// Opens (or starts) the pass of a teacher whose fingerprint and vocabulary size are given over `shard` in `directory`.
    /// `textFingerprint`, when the caller has it, saves hashing the shard's text again.
    public init(directory: String, shard: TokenShard, settings: TeacherPassSettings,
                teacherFingerprint: UInt64, teacherVocabularySize: Int, textFingerprint: UInt64? = nil) throws {
        try settings.validate()
        self.settings = settings
        self.directory = directory
        self.shard = shard
        order = Self.documentOrder(count: shard.documentCount, seed: settings.seed)
        var w = ByteWriter()
        w.bytes += Self.magic
        w.u32(Self.version)
        w.u32(UInt32(teacherVocabularySize))
        w.u32(UInt32(settings.samples))
        w.u32(settings.temperature.bitPattern)
        w.u32(UInt32(settings.window))
        w.u32(UInt32(settings.documentsPerPart))
        w.u64(settings.seed)
        w.u64(teacherFingerprint)
        w.u64(textFingerprint ?? Self.fingerprint(shard))
        header = w.bytes
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw DistillationError.invalidSettings("cannot create \(directory): \(error.localizedDescription)")
        }
    }

    /// The pass stored in `directory` over `shard`, with the settings and teacher its part files record;
    /// nil when the directory holds no part or its parts were computed over another shard's text.
    public static func open(directory: String, shard: TokenShard) throws -> TeacherPass? {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix("part-") && $0.hasSuffix(".bin") }.sorted()
        guard let first = names.first else { return nil }
        let path = directory + "/" + first
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var r = ByteReader(bytes: [UInt8]((try? handle.read(upToCount: 56)) ?? Data()), path: path)
        guard try r.take(8) == magic, try r.u32() == version else {
            throw DistillationError.cacheFormat(path: path, offset: 0, expected: "a teacher pass part (USTPASS1, version \(version))",
                                                found: "another file")
        }
        let vocabulary = Int(try r.u32())
        let settings = TeacherPassSettings(samples: Int(try r.u32()), temperature: Float(bitPattern: try r.u32()),
                                           window: Int(try r.u32()), seed: 0, documentsPerPart: Int(try r.u32()))
        var withSeed = settings
        withSeed.seed = try r.u64()
        let teacher = try r.u64(), text = try r.u64()
        let mine = fingerprint(shard)
        guard text == mine else { return nil }
        return try TeacherPass(directory: directory, shard: shard, settings: withSeed, teacherFingerprint: teacher,
                               teacherVocabularySize: vocabulary, textFingerprint: mine)
    }

    /// The teacher's vocabulary size and file fingerprint, as the part files record them.
    public var teacherVocabularySize: Int { Int(header[12..<16].reversed().reduce(0) { $0 << 8 | Int($1) }) }
    public var teacherFingerprint: UInt64 { header[40..<48].reversed().reduce(0) { $0 << 8 | UInt64($1) } }

    /// Parts in the whole pass.
    public var partCount: Int { (order.count + settings.documentsPerPart - 1) / settings.documentsPerPart }

    /// The documents of part `p`, in pass order.
    public func documents(ofPart p: Int) -> ArraySlice<Int> {
        order[(p * settings.documentsPerPart)..<min(order.count, (p + 1) * settings.documentsPerPart)]
    }

    public func path(ofPart p: Int) -> String { directory + "/" + String(format: "part-%06d.bin", p) }

    /// Whether part `p` is on disk (and was written by a pass with these settings, teacher and shard).
    public func hasPart(_ p: Int) throws -> Bool {
        let path = path(ofPart: p)
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let found = [UInt8]((try? handle.read(upToCount: header.count)) ?? Data())
        try checkHeader(found, path: path)
        return true
    }

    /// Runs the teacher on part `p`'s documents and writes the part file (atomically).
    public func computePart(_ p: Int, teacher: TeacherPassRunner) throws {
        var w = ByteWriter()
        w.bytes = header
        let documents = documents(ofPart: p)
        w.u32(UInt32(p))
        w.u32(UInt32(documents.count))
        for d in documents {
            let result = try teacher.run(text: shard.text(ofDocument: d), document: d, settings: settings)
            Self.append(result, to: &w)
        }
        try AtomicFile.write(w.bytes, to: path(ofPart: p))
    }

    /// The documents of the parts on disk (their headers are checked, their samples not read).
    public func coveredDocuments() throws -> [Int] {
        try (0..<partCount).filter { try hasPart($0) }.flatMap { documents(ofPart: $0) }.sorted()
    }

    /// Reads every part on disk: the documents covered so far, by document index.
    public func load() throws -> [Int: TeacherPassDocument] {
        var result: [Int: TeacherPassDocument] = [:]
        for p in 0..<partCount where try hasPart(p) {
            for document in try readPart(p) { result[document.document] = document }
        }
        return result
    }

    /// The documents of part `p`.
    public func readPart(_ p: Int) throws -> [TeacherPassDocument] {
        let path = path(ofPart: p)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DistillationError.cacheFormat(path: path, offset: 0, expected: "a teacher pass part", found: "no readable file")
        }
        var r = ByteReader(bytes: [UInt8](data), path: path)
        try checkHeader(try r.take(header.count), path: path)
        let part = Int(try r.u32()), count = Int(try r.u32())
        guard part == p, count == documents(ofPart: p).count else {
            throw DistillationError.cacheFormat(path: path, offset: header.count, expected: "part \(p) of \(documents(ofPart: p).count) documents",
                                                found: "part \(part) of \(count)")
        }
        var out: [TeacherPassDocument] = []
        for expected in documents(ofPart: p) {
            let at = r.offset
            let document = Int(try r.u32()), tokens = Int(try r.u32()), pairs = Int(try r.u32())
            guard document == expected, tokens >= 1, pairs <= (tokens - 1) * settings.samples else {
                throw DistillationError.cacheFormat(path: path, offset: at, expected: "document \(expected)",
                                                    found: "document \(document) of \(tokens) tokens and \(pairs) samples")
            }
            let ids = try r.take(4 * tokens), perPosition = try r.take(tokens - 1)
            let pairIDs = try r.take(4 * pairs), pairCounts = try r.take(pairs)
            var starts = [Int32](repeating: 0, count: tokens)
            for k in 0..<(tokens - 1) { starts[k + 1] = starts[k] + Int32(perPosition[k]) }
            guard Int(starts[tokens - 1]) == pairs else {
                throw DistillationError.cacheFormat(path: path, offset: at, expected: "\(pairs) samples", found: "\(starts[tokens - 1])")
            }
            out.append(TeacherPassDocument(document: document, tokens: Self.int32s(ids), pairStarts: starts,
                                           pairTokens: Self.int32s(pairIDs), pairCounts: pairCounts))
        }
        return out
    }

    // MARK: - Format

    private func checkHeader(_ found: [UInt8], path: String) throws {
        guard found.count == header.count, Array(found[0..<8]) == Self.magic else {
            throw DistillationError.cacheFormat(path: path, offset: 0, expected: "a teacher pass part (magic USTPASS1)",
                                                found: "\(found.count) bytes of something else")
        }
        // Fields after the magic and version, in header order, for an error that names the one that differs.
        let fields = ["version", "teacher vocabulary size", "sample count", "temperature", "window", "documents per part",
                      "seed", "teacher (file fingerprint)", "shard (text fingerprint)"]
        let offsets = [8, 12, 16, 20, 24, 28, 32, 40, 48, 56]
        for (i, name) in fields.enumerated() where found[offsets[i]..<offsets[i + 1]] != header[offsets[i]..<offsets[i + 1]] {
            throw DistillationError.cacheMismatch(path: path, field: name, expected: Self.hex(header[offsets[i]..<offsets[i + 1]]),
                                                  found: Self.hex(found[offsets[i]..<offsets[i + 1]]))
        }
    }

    private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        "0x" + bytes.reversed().map { String(format: "%02x", $0) }.joined()
    }

    static func append(_ d: TeacherPassDocument, to w: inout ByteWriter) {
        w.u32(UInt32(d.document))
        w.u32(UInt32(d.tokens.count))
        w.u32(UInt32(d.pairTokens.count))
        for t in d.tokens { w.u32(UInt32(bitPattern: t)) }
        for k in 0..<(d.tokens.count - 1) { w.bytes.append(UInt8(d.pairStarts[k + 1] - d.pairStarts[k])) }
        for t in d.pairTokens { w.u32(UInt32(bitPattern: t)) }
        w.bytes += d.pairCounts
    }

    private static func int32s(_ bytes: [UInt8]) -> [Int32] {
        bytes.withUnsafeBytes { raw in (0..<(bytes.count / 4)).map { Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) } }
    }

    /// A seeded Fisher–Yates shuffle of 0..<count.
    static func documentOrder(count: Int, seed: UInt64) -> [Int] {
        var order = Array(0..<count)
        var rng = SplitMix64(seed: seed ^ 0x7EAC_4E55_0DD5_1A7E)
        order.shuffle(using: &rng)
        return order
    }

    /// A 64-bit hash of the shard's document texts: the pass is a function of the text, whichever
    /// tokenizer made the shard.
    static func fingerprint(_ shard: TokenShard) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(shard.documentCount)
        for d in 0..<shard.documentCount {
            for byte in shard.text(ofDocument: d) { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            h = (h ^ 0xFF) &* 0x0000_0100_0000_01B3
        }
        return h
    }
}

/// Runs a teacher model over one document's text in file order and samples every position.
public final class TeacherPassRunner: @unchecked Sendable {
    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    private let context: InferenceContext
    private let scratch: UnsafeMutablePointer<Float>

    public init(model: LlamaModel, window: Int, threads: Int) throws {
        self.model = model
        tokenizer = try BPETokenizer(gguf: model.file)
        guard tokenizer.specials.endOfText != nil else {
            throw DistillationError.teacherUnusable(path: "teacher", reason: "its vocabulary has no end-of-text token")
        }
        guard model.config.contextLength >= window else {
            throw DistillationError.teacherUnusable(path: "teacher",
                reason: "its context length is \(model.config.contextLength) tokens, the pass window \(window)")
        }
        context = InferenceContext(model: model, contextSize: window, threads: threads, maxBatch: min(window, 512))
        scratch = .allocate(capacity: context.pool.threadCount * model.config.vocabularySize)
    }

    deinit { scratch.deallocate() }

    /// The teacher's tokens of `text` (plus end-of-text) and K samples after each of them but the last.
    public func run(text: [UInt8], document: Int, settings: TeacherPassSettings) throws -> TeacherPassDocument {
        let tokens = tokenizer.encode(bytes: text) + [tokenizer.specials.endOfText!]
        let positions = tokens.count - 1
        let vocab = model.config.vocabularySize
        var sampled = [[SampledToken]](repeating: [], count: positions)
        var start = 0
        while start < positions {
            let end = min(positions, start + settings.window)
            context.reset()
            try context.append(Array(tokens[start..<end])) { first, logits, rows in
                sampled.withUnsafeMutableBufferPointer { out in
                    context.pool.parallelFor(rows) { range, thread in
                        for i in range {
                            let k = start + first + i
                            var rng = TeacherSampling.generator(seed: settings.seed, step: document, position: k)
                            out[k] = TeacherSampling.sample(logits: logits + i * vocab, count: vocab, temperature: settings.temperature,
                                                            samples: settings.samples, rng: &rng, weights: scratch + thread * vocab)
                        }
                    }
                }
            }
            start = end
        }
        var starts: [Int32] = [0], ids: [Int32] = [], counts: [UInt8] = []
        for position in sampled {
            for s in position {
                ids.append(s.token)
                counts.append(UInt8(s.count))
            }
            starts.append(Int32(ids.count))
        }
        return TeacherPassDocument(document: document, tokens: tokens, pairStarts: starts, pairTokens: ids, pairCounts: counts)
    }
}
