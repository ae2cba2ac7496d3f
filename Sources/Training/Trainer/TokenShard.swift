import Foundation
import Model

/// A file of token ids for training (the layout is documented in README.md beside this file):
/// a 32-byte little-endian header ("USTOKENS", version 1, bytes per token 2 or 4, vocabulary size,
/// reserved 0, UInt64 token count) followed by the ids.
public struct TokenShard: Sendable {
    public static let magic = Array("USTOKENS".utf8)
    public static let headerSize = 32
    public let tokens: [Int32]
    /// The vocabulary the ids come from (0 when the writer did not say).
    public let vocabularySize: Int

    public init(tokens: [Int32], vocabularySize: Int) {
        self.tokens = tokens
        self.vocabularySize = vocabularySize
    }

    /// Reads and checks a shard file.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainerError.io(path: path, operation: "read", errno: errno)
        }
        let bytes = [UInt8](data)
        guard bytes.count >= Self.headerSize else {
            throw TrainerError.shardFormat(path: path, offset: 0, expected: "a \(Self.headerSize)-byte header", found: "\(bytes.count) bytes")
        }
        guard Array(bytes[0..<8]) == Self.magic else {
            throw TrainerError.shardFormat(path: path, offset: 0, expected: "magic USTOKENS",
                                           found: bytes[0..<8].map { String(format: "%02x", $0) }.joined())
        }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) } }
        guard u32(8) == 1 else { throw TrainerError.shardFormat(path: path, offset: 8, expected: "version 1", found: "\(u32(8))") }
        let width = Int(u32(12))
        guard width == 2 || width == 4 else {
            throw TrainerError.shardFormat(path: path, offset: 12, expected: "2 or 4 bytes per token", found: "\(width)")
        }
        let count = u64(24)
        let expectedBytes = UInt64(Self.headerSize) + count * UInt64(width)
        guard UInt64(bytes.count) == expectedBytes else {
            throw TrainerError.shardFormat(path: path, offset: 24, expected: "\(expectedBytes) bytes for \(count) tokens",
                                           found: "\(bytes.count) bytes")
        }
        let vocabulary = Int(u32(16))
        var ids = [Int32](repeating: 0, count: Int(count))
        for i in 0..<Int(count) {
            let at = Self.headerSize + i * width
            ids[i] = width == 2 ? Int32(UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8) : Int32(bitPattern: u32(at))
        }
        if vocabulary > 0, let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw TrainerError.shardFormat(path: path, offset: Self.headerSize + bad * width,
                                           expected: "a token id below \(vocabulary)", found: "\(ids[bad])")
        }
        tokens = ids
        vocabularySize = vocabulary
    }

    /// Writes `tokens` as a shard (2 bytes per id when every id fits, else 4), atomically.
    public func write(to path: String) throws {
        let width = (vocabularySize > 0 && vocabularySize <= 65_536) || tokens.allSatisfy({ $0 >= 0 && $0 < 65_536 }) ? 2 : 4
        var bytes = Self.magic
        func put32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
        put32(1)
        put32(UInt32(width))
        put32(UInt32(vocabularySize))
        put32(0)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: UInt64(tokens.count) >> (8 * i))) }
        bytes.reserveCapacity(bytes.count + tokens.count * width)
        for t in tokens {
            let v = UInt32(bitPattern: t)
            for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
        }
        try AtomicFile.write(bytes, to: path)
    }
}

/// Random training windows of a token stream, a pure function of (seed, step), so resuming at a step
/// reproduces exactly the batches an uninterrupted run would have seen.
public struct TokenWindowSampler: Sendable {
    public let tokens: [Int32]
    public let seed: UInt64

    /// Fails when the stream is shorter than one window of `sequence` + 1 tokens.
    public init(tokens: [Int32], seed: UInt64, sequence: Int, source: String = "token stream") throws {
        guard tokens.count > sequence else { throw TrainerError.shardTooShort(path: source, tokens: tokens.count, needed: sequence + 1) }
        self.tokens = tokens
        self.seed = seed
    }

    /// Inputs and next-token targets ([batch·sequence] each) for the 0-based `step`.
    public func batch(step: Int, batch: Int, sequence: Int) -> (inputs: [Int32], targets: [Int32]) {
        var rng = SplitMix64(seed: seed &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15)
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(batch * sequence)
        targets.reserveCapacity(batch * sequence)
        let starts = UInt64(tokens.count - sequence)
        for _ in 0..<batch {
            let start = Int(rng.next() % starts)
            inputs += tokens[start..<(start + sequence)]
            targets += tokens[(start + 1)..<(start + sequence + 1)]
        }
        return (inputs, targets)
    }
}
