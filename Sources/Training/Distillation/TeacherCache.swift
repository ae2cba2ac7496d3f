import Foundation

/// What a teacher cache's samples depend on; every cache file records it and a run only reads files
/// whose key equals its own.
public struct TeacherCacheKey: Sendable, Equatable {
    public var vocabularySize: Int
    public var batch: Int
    public var sequence: Int
    public var samples: Int
    public var temperature: Float
    public var seed: UInt64
    /// `TeacherCache.fingerprint(path:)` of the teacher GGUF.
    public var teacherFingerprint: UInt64

    public init(vocabularySize: Int, batch: Int, sequence: Int, samples: Int, temperature: Float, seed: UInt64,
                teacherFingerprint: UInt64) {
        self.vocabularySize = vocabularySize
        self.batch = batch
        self.sequence = sequence
        self.samples = samples
        self.temperature = temperature
        self.seed = seed
        self.teacherFingerprint = teacherFingerprint
    }
}

/// The sampled teacher targets of one step, with a hash of the inputs they were computed from.
public struct CachedStep: Sendable, Equatable {
    public var inputHash: UInt64
    /// Per position (B·T of them), the drawn tokens and their counts.
    public var positions: [[SampledToken]]
}

/// Sampled teacher targets on disk, keyed by step (batches are a pure function of the step), one file
/// per `stepsPerFile` steps. Format: Sources/Training/Distillation/README.md. Not thread-safe.
public final class TeacherCache {
    public static let magic = Array("USTCACHE".utf8)
    public static let version: UInt32 = 1
    public static let stepsPerFile = 64
    static let headerBytes = 56

    public let directory: String
    public let key: TeacherCacheKey
    /// Steps answered from disk.
    public private(set) var hits = 0

    private var chunk: Int?
    private var entries: [Int: CachedStep] = [:]
    private var dirty = false

    /// Uses (and creates) `directory`.
    public init(directory: String, key: TeacherCacheKey) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw TrainerError.io(path: directory, operation: "mkdir", errno: errno)
        }
        self.directory = directory
        self.key = key
    }

    /// The file holding steps [chunk·N, (chunk+1)·N).
    public func path(chunk: Int) -> String {
        directory + "/" + String(format: "teacher-%08d.cache", chunk * Self.stepsPerFile)
    }

    /// The stored targets of `step`, or nil when the cache does not hold it yet. Throws when the file is
    /// damaged, belongs to another run's key, or holds the step for other input tokens.
    public func lookup(step: Int, inputs: [Int32]) throws -> [[SampledToken]]? {
        try select(chunk: step / Self.stepsPerFile)
        guard let entry = entries[step] else { return nil }
        guard entry.inputHash == Self.hash(inputs) else {
            throw DistillationError.cacheInputsDiffer(path: path(chunk: step / Self.stepsPerFile), step: step)
        }
        hits += 1
        return entry.positions
    }

    /// Adds the targets of `step`; the file is written once all its steps are in (or on `flush`).
    public func store(step: Int, inputs: [Int32], targets: [[SampledToken]]) throws {
        precondition(targets.count == key.batch * key.sequence, "\(targets.count) positions, expected B·T")
        try select(chunk: step / Self.stepsPerFile)
        entries[step] = CachedStep(inputHash: Self.hash(inputs), positions: targets)
        dirty = true
        if entries.count == Self.stepsPerFile { try flush() }
    }

    /// Writes the current file if it has steps not yet on disk (a partial file is completed later).
    public func flush() throws {
        guard dirty, let chunk else { return }
        try AtomicFile.write(Self.encode(key: key, steps: entries), to: path(chunk: chunk))
        dirty = false
    }

    private func select(chunk wanted: Int) throws {
        guard wanted != chunk else { return }
        try flush()
        chunk = wanted
        entries = [:]
        let file = path(chunk: wanted)
        guard let data = FileManager.default.contents(atPath: file) else { return }
        entries = try Self.decode([UInt8](data), key: key, path: file)
    }

    // MARK: - File format

    /// The file bytes for `steps` (header, entry table, step records).
    public static func encode(key: TeacherCacheKey, steps: [Int: CachedStep]) -> [UInt8] {
        var out = ByteWriter()
        out.bytes += magic
        out.u32(version)
        out.u32(UInt32(key.vocabularySize)); out.u32(UInt32(key.batch)); out.u32(UInt32(key.sequence))
        out.u32(UInt32(key.samples)); out.u32(key.temperature.bitPattern)
        out.u64(key.seed); out.u64(key.teacherFingerprint)
        out.u32(UInt32(stepsPerFile)); out.u32(UInt32(steps.count))
        let ordered = steps.keys.sorted()
        var records = ByteWriter()
        var offsets: [Int] = []
        let recordsStart = headerBytes + 16 * ordered.count
        for step in ordered {
            offsets.append(recordsStart + records.bytes.count)
            let entry = steps[step]!
            records.u64(entry.inputHash)
            records.u32(UInt32(entry.positions.reduce(0) { $0 + $1.count }))
            for position in entry.positions { records.u16(UInt16(position.count)) }
            for position in entry.positions { for s in position { records.u32(UInt32(s.token)) } }
            for position in entry.positions { for s in position { records.u16(s.count) } }
        }
        for (step, offset) in zip(ordered, offsets) {
            out.u64(UInt64(step))
            out.u64(UInt64(offset))
        }
        return out.bytes + records.bytes
    }

    /// Reads a cache file's steps; throws on damage or when its key is not `key`.
    public static func decode(_ bytes: [UInt8], key: TeacherCacheKey, path: String) throws -> [Int: CachedStep] {
        var r = ByteReader(bytes: bytes, path: path)
        let found = try r.take(8)
        guard found == magic else {
            throw DistillationError.cacheFormat(path: path, offset: 0, expected: "magic USTCACHE",
                                                found: found.map { String(format: "%02x", $0) }.joined())
        }
        let v = try r.u32()
        guard v == version else { throw DistillationError.cacheFormat(path: path, offset: 8, expected: "version \(version)", found: "\(v)") }
        func check<T: Equatable>(_ field: String, _ expected: T, _ value: T) throws {
            guard expected == value else {
                throw DistillationError.cacheMismatch(path: path, field: field, expected: "\(expected)", found: "\(value)")
            }
        }
        try check("vocabulary size", key.vocabularySize, Int(try r.u32()))
        try check("batch", key.batch, Int(try r.u32()))
        try check("context", key.sequence, Int(try r.u32()))
        try check("teacher samples", key.samples, Int(try r.u32()))
        try check("temperature", key.temperature, Float(bitPattern: try r.u32()))
        try check("seed", key.seed, try r.u64())
        try check("teacher (file fingerprint)", String(key.teacherFingerprint, radix: 16), String(try r.u64(), radix: 16))
        try check("steps per file", stepsPerFile, Int(try r.u32()))
        let count = Int(try r.u32())
        guard count <= stepsPerFile else {
            throw DistillationError.cacheFormat(path: path, offset: 52, expected: "at most \(stepsPerFile) steps", found: "\(count)")
        }
        var table: [(step: Int, offset: Int)] = []
        for _ in 0..<count { table.append((Int(try r.u64()), Int(try r.u64()))) }
        let positions = key.batch * key.sequence
        var steps: [Int: CachedStep] = [:]
        for (step, offset) in table {
            guard offset == r.offset else {
                throw DistillationError.cacheFormat(path: path, offset: r.offset, expected: "step \(step)'s record", found: "offset \(offset)")
            }
            let inputHash = try r.u64()
            let pairs = Int(try r.u32())
            let perPosition = try (0..<positions).map { _ in Int(try r.u16()) }
            guard perPosition.reduce(0, +) == pairs else {
                throw DistillationError.cacheFormat(path: path, offset: offset + 8, expected: "\(pairs) pairs", found: "\(perPosition.reduce(0, +))")
            }
            let tokensAt = r.offset
            let tokens = try (0..<pairs).map { _ in try r.u32() }
            let counts = try (0..<pairs).map { _ in try r.u16() }
            if let bad = tokens.first(where: { Int($0) >= key.vocabularySize }) {
                throw DistillationError.cacheFormat(path: path, offset: tokensAt, expected: "tokens below \(key.vocabularySize)", found: "\(bad)")
            }
            var cursor = 0
            var rows: [[SampledToken]] = []
            rows.reserveCapacity(positions)
            for n in perPosition {
                rows.append((cursor..<(cursor + n)).map { SampledToken(token: Int32(tokens[$0]), count: counts[$0]) })
                cursor += n
            }
            steps[step] = CachedStep(inputHash: inputHash, positions: rows)
        }
        guard r.offset == bytes.count else {
            throw DistillationError.cacheFormat(path: path, offset: r.offset, expected: "end of file", found: "\(bytes.count - r.offset) more bytes")
        }
        return steps
    }

    /// FNV-1a (64-bit) of the input ids, to tell that a cached step belongs to the same batch.
    public static func hash(_ inputs: [Int32]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for token in inputs {
            var v = UInt32(bitPattern: token)
            for _ in 0..<4 {
                h = (h ^ UInt64(v & 0xFF)) &* 0x0000_0100_0000_01B3
                v >>= 8
            }
        }
        return h
    }

    /// A 64-bit hash of a whole file (the teacher), read eight bytes at a time.
    public static func fingerprint(path: String) throws -> UInt64 {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw DistillationError.teacherUnusable(path: path, reason: "cannot read it: \(error)")
        }
        return data.withUnsafeBytes { raw -> UInt64 in
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(raw.count)
            let words = raw.count / 8
            for i in 0..<words {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                h ^= h >> 32
            }
            for i in (words * 8)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0xC4CE_B9FE_1A85_EC53 }
            return h
        }
    }
}

/// Little-endian appends.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
}

/// Little-endian reads that fail with the offset when the file ends early.
struct ByteReader {
    let bytes: [UInt8]
    let path: String
    var offset = 0

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    mutating func take(_ n: Int) throws -> [UInt8] {
        guard offset + n <= bytes.count else {
            throw DistillationError.cacheFormat(path: path, offset: offset, expected: "\(n) more bytes", found: "end of file")
        }
        defer { offset += n }
        return Array(bytes[offset..<(offset + n)])
    }

    private mutating func integer(_ n: Int) throws -> UInt64 {
        guard offset + n <= bytes.count else {
            throw DistillationError.cacheFormat(path: path, offset: offset, expected: "\(n) more bytes", found: "end of file")
        }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[offset + i]) << (8 * i) }
        offset += n
        return v
    }

    mutating func u16() throws -> UInt16 { UInt16(try integer(2)) }
    mutating func u32() throws -> UInt32 { UInt32(try integer(4)) }
    mutating func u64() throws -> UInt64 { try integer(8) }
}
