import Foundation
import Model

/// Everything besides the float buffers that a resumed run needs, stored as JSON in the checkpoint.
public struct TrainingState: Codable, Sendable, Equatable {
    public var vocabularySize, dim, hiddenDim, layers, heads, kvHeads, contextLength: Int
    public var ropeTheta, normEpsilon: Float
    public var tiedOutput: Bool
    /// Steps completed; the next step to run (also the data position: batches are a function of the step).
    public var step: Int
    /// AdamW's bias-correction step count.
    public var optimizerSteps: Int
    public var options: TrainingOptions
    public var parameterCount: Int

    public var config: LlamaConfig {
        LlamaConfig(vocabularySize: vocabularySize, dim: dim, hiddenDim: hiddenDim, layers: layers, heads: heads,
                    kvHeads: kvHeads, contextLength: contextLength, ropeTheta: ropeTheta, normEpsilon: normEpsilon)
    }

    public init(config c: LlamaConfig, tiedOutput: Bool, step: Int, optimizerSteps: Int, options: TrainingOptions, parameterCount: Int) {
        vocabularySize = c.vocabularySize; dim = c.dim; hiddenDim = c.hiddenDim; layers = c.layers; heads = c.heads
        kvHeads = c.kvHeads; contextLength = c.contextLength; ropeTheta = c.ropeTheta; normEpsilon = c.normEpsilon
        self.tiedOutput = tiedOutput
        self.step = step
        self.optimizerSteps = optimizerSteps
        self.options = options
        self.parameterCount = parameterCount
    }
}

/// A checkpoint file: "USCKPT01", UInt32 JSON length, the `TrainingState` JSON, then parameters, AdamW m
/// and AdamW v as little-endian Float32 arrays of `parameterCount` each. One file, so one atomic rename
/// makes a whole checkpoint visible or none of it.
public enum Checkpoint {
    public static let magic = Array("USCKPT01".utf8)
    public static let fileName = "checkpoint.bin"

    /// Writes `state` and the three buffers atomically to `path`.
    public static func write(state: TrainingState, parameters: UnsafePointer<Float>, m: UnsafePointer<Float>,
                             v: UnsafePointer<Float>, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let json = [UInt8](try encoder.encode(state))
        var header = magic
        for i in 0..<4 { header.append(UInt8(truncatingIfNeeded: UInt32(json.count) >> (8 * i))) }
        header += json
        let bytes = state.parameterCount * 4
        try header.withUnsafeBytes { h in
            try AtomicFile.write(chunks: [h, UnsafeRawBufferPointer(start: parameters, count: bytes),
                                          UnsafeRawBufferPointer(start: m, count: bytes),
                                          UnsafeRawBufferPointer(start: v, count: bytes)], to: path)
        }
    }

    /// Reads a checkpoint: its state and the three buffers.
    public static func read(path: String) throws -> (state: TrainingState, parameters: [Float], m: [Float], v: [Float]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainerError.io(path: path, operation: "read", errno: errno)
        }
        return try decode(data, path: path)
    }

    /// Reads a checkpoint on rank 0 of `group` and hands its bytes to the other ranks, which need not see
    /// the file (the machines of a job need not share a file system).
    public static func read(path: String, group: ProcessGroup) throws -> (state: TrainingState, parameters: [Float], m: [Float], v: [Float]) {
        guard group.size > 1 else { return try read(path: path) }
        var bytes: [UInt8] = []
        if group.isRoot {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw TrainerError.io(path: path, operation: "read", errno: errno)
            }
            bytes = [UInt8](data)
        }
        return try decode(Data(try group.broadcast(bytes)), path: path)
    }

    /// Decodes the bytes of the checkpoint file `path`.
    public static func decode(_ data: Data, path: String) throws -> (state: TrainingState, parameters: [Float], m: [Float], v: [Float]) {
        guard data.count >= 12, [UInt8](data.prefix(8)) == magic else {
            throw TrainerError.checkpointFormat(path: path, offset: 0, expected: "magic USCKPT01",
                                                found: data.prefix(8).map { String(format: "%02x", $0) }.joined())
        }
        let length = (0..<4).reduce(0) { $0 | Int(data[data.startIndex + 8 + $1]) << (8 * $1) }
        guard data.count >= 12 + length else {
            throw TrainerError.checkpointFormat(path: path, offset: 8, expected: "\(length) bytes of JSON", found: "\(data.count - 12)")
        }
        let state: TrainingState
        do { state = try JSONDecoder().decode(TrainingState.self, from: data.subdata(in: 12..<(12 + length))) } catch {
            throw TrainerError.checkpointFormat(path: path, offset: 12, expected: "the training state JSON", found: "\(error)")
        }
        let count = state.parameterCount, start = 12 + length
        guard data.count == start + 3 * count * 4 else {
            throw TrainerError.checkpointFormat(path: path, offset: start, expected: "\(3 * count * 4) bytes of floats",
                                                found: "\(data.count - start)")
        }
        func floats(_ index: Int) -> [Float] {
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                _ = data.copyBytes(to: UnsafeMutableRawBufferPointer(buffer),
                                   from: (start + index * count * 4)..<(start + (index + 1) * count * 4))
                initialized = count
            }
        }
        return (state, floats(0), floats(1), floats(2))
    }
}
