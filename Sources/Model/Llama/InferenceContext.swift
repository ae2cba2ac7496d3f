import Kernels

/// The mutable state of one generation stream: KV cache, scratch buffers and worker threads.
///
/// A context remembers which tokens its cache holds, so a new prompt that shares a prefix with the
/// last one only evaluates the tokens after the shared part. Not thread-safe: use from one thread.
public final class InferenceContext: @unchecked Sendable {
    public let model: LlamaModel
    /// Positions the KV cache holds.
    public let contextSize: Int
    /// Largest number of tokens evaluated in one batched pass; longer inputs are split.
    public let maxBatch: Int
    public let pool: ThreadPool
    /// The tokens whose keys and values are in the cache, in order.
    public private(set) var tokens: [Int32] = []
    /// How many prompt tokens the last `evaluate(prompt:)` found already in the cache.
    public private(set) var lastReusedCount = 0

    // Per layer: [contextSize][kvDim] in half floats (as llama.cpp's cache): half the memory, and half
    // the bytes every generated token's attention reads. Keys and values are computed in float and
    // rounded once, when they are stored.
    private let keys: [UnsafeMutablePointer<UInt16>]
    private let rope: RoPETable                         // every position of the context
    private let values: [UnsafeMutablePointer<UInt16>]
    private let x, xb, xb2, q, k, v, att, gate, up: UnsafeMutablePointer<Float>
    private var logitsBuffer: UnsafeMutablePointer<Float>
    private var logitsRows: Int

    /// Batches smaller than this run token by token: sgemm only pays off once the weights are reused.
    private static let batchThreshold = 8

    public convenience init(model: LlamaModel, contextSize: Int? = nil, threads: Int, maxBatch: Int = 512) {
        self.init(model: model, contextSize: contextSize, pool: ThreadPool(threads: max(1, threads)), maxBatch: maxBatch)
    }

    /// A context whose kernels run on `pool`, which it may share with other contexts used from the same
    /// thread one after another (a draft model's and its teacher's: two pools would each spin a core
    /// while the other works).
    public init(model: LlamaModel, contextSize: Int? = nil, pool: ThreadPool, maxBatch: Int = 512) {
        let c = model.config
        self.model = model
        self.contextSize = max(1, contextSize ?? c.contextLength)
        self.maxBatch = max(1, maxBatch)
        self.pool = pool
        let cacheCount = self.contextSize * c.kvDim
        keys = (0..<c.layers).map { _ in .allocate(capacity: cacheCount) }
        values = (0..<c.layers).map { _ in .allocate(capacity: cacheCount) }
        rope = RoPETable(sequence: self.contextSize, headDim: c.headDim, theta: c.ropeTheta)
        let b = self.maxBatch
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        x = buffer(b * c.dim); xb = buffer(b * c.dim); xb2 = buffer(b * c.dim)
        q = buffer(b * c.dim); att = buffer(b * c.dim)
        k = buffer(b * c.kvDim); v = buffer(b * c.kvDim)
        gate = buffer(b * c.hiddenDim); up = buffer(b * c.hiddenDim)
        logitsBuffer = buffer(c.vocabularySize)
        logitsRows = 1
    }

    deinit {
        for p in keys + values { p.deallocate() }
        for p in [x, xb, xb2, q, k, v, att, gate, up, logitsBuffer] { p.deallocate() }
    }

    /// Forgets every cached token after the first `count`.
    public func truncate(to count: Int) {
        tokens.removeLast(max(0, tokens.count - max(0, count)))
    }

    /// Clears the cache.
    public func reset() { tokens.removeAll(keepingCapacity: true) }

    /// Evaluates `prompt`, reusing the cached prefix it shares with the last evaluation, and returns the
    /// logits that predict the token after it.
    ///
    /// The last token always runs alone, through the single-token path, whatever was cached: the batched
    /// path rounds differently (and can flip a near tie), so otherwise the first generated token would
    /// depend on how much of the prompt the cache held, and the same request could be answered two ways.
    public func evaluate(prompt: [Int32]) throws -> [Float] {
        precondition(!prompt.isEmpty, "evaluate(prompt:) needs at least one token")
        var shared = 0
        let limit = min(tokens.count, prompt.count - 1)   // the last token is always run, for its logits
        while shared < limit && tokens[shared] == prompt[shared] { shared += 1 }
        truncate(to: shared)
        lastReusedCount = shared
        try run(Array(prompt[shared..<(prompt.count - 1)]), allLogits: false)
        return try append([prompt[prompt.count - 1]])
    }

    /// Runs `newTokens` after the cached ones and returns the logits after the last of them.
    @discardableResult
    public func append(_ newTokens: [Int32]) throws -> [Float] {
        try run(newTokens, allLogits: false)
        return Array(UnsafeBufferPointer(start: logitsBuffer, count: model.config.vocabularySize))
    }

    /// Runs `newTokens` and returns the logits after each of them (row i predicts the token after newTokens[i]).
    public func appendReturningAllLogits(_ newTokens: [Int32]) throws -> [[Float]] {
        let vocab = model.config.vocabularySize
        var rows: [[Float]] = []
        try append(newTokens) { _, logits, count in
            for i in 0..<count { rows.append(Array(UnsafeBufferPointer(start: logits + i * vocab, count: vocab))) }
        }
        return rows
    }

    /// Evaluates `newTokens` after the cached ones and hands `body` the logits of every position, a chunk
    /// of at most `maxBatch` positions at a time: (index of the chunk's first token in `newTokens`, its
    /// rows of `vocabularySize` logits, row count). The rows are valid only during the call, which
    /// saves a teacher pass over long documents from copying 200 KB of logits per token.
    public func append(_ newTokens: [Int32], eachLogitsChunk body: (Int, UnsafePointer<Float>, Int) throws -> Void) throws {
        var start = 0
        while start < newTokens.count {
            let end = min(newTokens.count, start + maxBatch)
            try run(Array(newTokens[start..<end]), allLogits: true)
            try body(start, UnsafePointer(logitsBuffer), end - start)
            start = end
        }
    }

    /// Runs `newTokens` and returns the logits after each of them, every row bit for bit what appending
    /// the tokens one at a time (`append([token])`) gives, which the batched `appendReturningAllLogits`
    /// does not promise (its sgemm and integer GEMM kernels round differently). The weights are read once
    /// for all rows (`matvecRows`), so checking k drafted tokens costs about one token's memory traffic:
    /// the verification pass of speculative decoding, whose output must be the model's own greedy output.
    public func appendReturningExactLogits(_ newTokens: [Int32]) throws -> [[Float]] {
        try checkAppendable(newTokens)
        let vocab = model.config.vocabularySize
        var rows: [[Float]] = []
        rows.reserveCapacity(newTokens.count)
        var start = 0
        while start < newTokens.count {
            let end = min(newTokens.count, start + maxBatch)
            reserveLogits(rows: end - start)
            forwardRows(Array(newTokens[start..<end]))
            for i in 0..<(end - start) {
                rows.append(Array(UnsafeBufferPointer(start: logitsBuffer + i * vocab, count: vocab)))
            }
            start = end
        }
        return rows
    }

    private func checkAppendable(_ newTokens: [Int32]) throws {
        let c = model.config
        if let bad = newTokens.first(where: { $0 < 0 || Int($0) >= c.vocabularySize }) {
            throw ModelError.invalidToken(bad, vocabularySize: c.vocabularySize)
        }
        guard tokens.count + newTokens.count <= contextSize else {
            throw ModelError.contextFull(needed: tokens.count + newTokens.count, available: contextSize)
        }
    }

    private func run(_ newTokens: [Int32], allLogits: Bool) throws {
        guard !newTokens.isEmpty else { return }
        try checkAppendable(newTokens)
        if allLogits { reserveLogits(rows: min(maxBatch, newTokens.count)) }
        var start = 0
        while start < newTokens.count {
            let end = min(newTokens.count, start + maxBatch)
            let chunk = Array(newTokens[start..<end])
            let isLast = end == newTokens.count
            if chunk.count < Self.batchThreshold && !allLogits {
                for (i, token) in chunk.enumerated() {
                    forwardOne(token, wantLogits: isLast && i == chunk.count - 1)
                }
            } else {
                forwardBatch(chunk, logits: allLogits ? .all : (isLast ? .last : .none))
            }
            start = end
        }
    }

    private func reserveLogits(rows: Int) {
        guard rows > logitsRows else { return }
        logitsBuffer.deallocate()
        logitsBuffer = .allocate(capacity: rows * model.config.vocabularySize)
        logitsRows = rows
    }

    // MARK: - One token (generation): matrix-vector products

    private func forwardOne(_ token: Int32, wantLogits: Bool) {
        let c = model.config, w = model.weights
        let position = tokens.count
        embed(token, into: x)
        for (l, layer) in w.layers.enumerated() {
            rmsNorm(x, weight: layer.attentionNorm, count: c.dim, epsilon: c.normEpsilon, into: xb)
            matvecRows([(layer.query, q), (layer.key, k), (layer.value, v)], xb, rows: 1, pool: pool)
            positionRows(1, layer: l, start: position)
            attention(query: q, keys: keys[l], values: values[l], length: position + 1,
                      heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, into: att, pool: pool)
            matvec(layer.attentionOutput, att, into: xb2, pool: pool)
            add(x, xb2, count: c.dim, into: x)

            rmsNorm(x, weight: layer.ffnNorm, count: c.dim, epsilon: c.normEpsilon, into: xb)
            matvecRows([(layer.gate, gate), (layer.up, up)], xb, rows: 1, pool: pool)
            swiglu(gate: gate, up: up, count: c.hiddenDim, into: gate)
            matvec(layer.down, gate, into: xb2, pool: pool)
            add(x, xb2, count: c.dim, into: x)
        }
        tokens.append(token)
        guard wantLogits else { return }
        rmsNorm(x, weight: w.outputNorm, count: c.dim, epsilon: c.normEpsilon, into: xb)
        matvec(w.output, xb, into: logitsBuffer, pool: pool)
    }

    // MARK: - Rows computed as single tokens (verification): each row `forwardOne`'s arithmetic

    /// `forwardOne` for each token of `batch` in turn, bit for bit, but with every weight matrix read once
    /// for all rows (`matvecRows`); attention, norms and activations run per row with the single-token
    /// functions and counts. Leaves the logits of every row in `logitsBuffer`.
    private func forwardRows(_ batch: [Int32]) {
        let c = model.config, w = model.weights
        let n = batch.count, start = tokens.count
        for (i, token) in batch.enumerated() { embed(token, into: x + i * c.dim) }
        for (l, layer) in w.layers.enumerated() {
            normRows(x, weight: layer.attentionNorm, rows: n, into: xb)
            matvecRows([(layer.query, q), (layer.key, k), (layer.value, v)], xb, rows: n, pool: pool)
            positionRows(n, layer: l, start: start)
            // Each row's attention is the bits `forwardOne` computes for it (`attentionRows`).
            attentionRows(queries: q, count: n, start: start, keys: keys[l], values: values[l],
                          heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, into: att, pool: pool)
            matvecRows(layer.attentionOutput, att, rows: n, into: xb2, pool: pool)
            addRows(xb2, to: x, rows: n)

            normRows(x, weight: layer.ffnNorm, rows: n, into: xb)
            matvecRows([(layer.gate, gate), (layer.up, up)], xb, rows: n, pool: pool)
            for i in 0..<n {
                let offset = i * c.hiddenDim
                swiglu(gate: gate + offset, up: up + offset, count: c.hiddenDim, into: gate + offset)
            }
            matvecRows(layer.down, gate, rows: n, into: xb2, pool: pool)
            addRows(xb2, to: x, rows: n)
        }
        tokens.append(contentsOf: batch)
        normRows(x, weight: w.outputNorm, rows: n, into: xb)
        matvecRows(w.output, xb, rows: n, into: logitsBuffer, pool: pool)
    }

    // MARK: - A batch of tokens (prompt processing): matrix-matrix products through sgemm

    private enum LogitRows { case none, last, all }

    private func forwardBatch(_ batch: [Int32], logits: LogitRows) {
        let c = model.config, w = model.weights
        let n = batch.count, start = tokens.count
        // Everything between the matrix products goes row by row over the pool too (`parallelRows`).
        pool.parallelRows(n, elementsPerRow: c.dim) { rows in
            for i in rows { embed(batch[i], into: x + i * c.dim) }
        }
        for (l, layer) in w.layers.enumerated() {
            normRows(x, weight: layer.attentionNorm, rows: n, into: xb)
            matmul(layer.query, xb, batch: n, into: q, pool: pool)
            matmul(layer.key, xb, batch: n, into: k, pool: pool)
            matmul(layer.value, xb, batch: n, into: v, pool: pool)
            positionRows(n, layer: l, start: start)
            causalAttention(queries: q, count: n, start: start, keys: keys[l], values: values[l],
                            heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, into: att, pool: pool)
            matmul(layer.attentionOutput, att, batch: n, into: xb2, pool: pool)
            addRows(xb2, to: x, rows: n)

            normRows(x, weight: layer.ffnNorm, rows: n, into: xb)
            matmul(layer.gate, xb, batch: n, into: gate, pool: pool)
            matmul(layer.up, xb, batch: n, into: up, pool: pool)
            pool.parallelRows(n, elementsPerRow: c.hiddenDim) { rows in
                let offset = rows.lowerBound * c.hiddenDim
                swiglu(gate: gate + offset, up: up + offset, count: rows.count * c.hiddenDim, into: gate + offset)
            }
            matmul(layer.down, gate, batch: n, into: xb2, pool: pool)
            addRows(xb2, to: x, rows: n)
        }
        tokens.append(contentsOf: batch)
        switch logits {
        case .none:
            break
        case .last:
            rmsNorm(x + (n - 1) * c.dim, weight: w.outputNorm, count: c.dim, epsilon: c.normEpsilon, into: xb)
            matvec(w.output, xb, into: logitsBuffer, pool: pool)
        case .all:
            normRows(x, weight: w.outputNorm, rows: n, into: xb)
            matmul(w.output, xb, batch: n, into: logitsBuffer, pool: pool)
        }
    }

    /// Adds a projection's bias (qwen2) to each of `rows` rows; nothing for a model without biases.
    private func addBias(_ bias: [Float]?, to rowsStart: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias else { return }
        bias.withUnsafeBufferPointer { b in
            for i in 0..<rows {
                let row = rowsStart + i * b.count
                add(row, b.baseAddress!, count: b.count, into: row)
            }
        }
    }

    /// For `rows` new rows of q, k and v (positions start…): their biases (qwen2) and RoPE, then k and v
    /// into layer `l`'s half-float cache. Each row on its own, so a row gets the same bits alone
    /// (`forwardOne`), among a few (`forwardRows`) or in a batch, whichever thread runs it.
    private func positionRows(_ rows: Int, layer l: Int, start: Int) {
        let c = model.config, layer = model.weights.layers[l]
        pool.parallelRows(rows, elementsPerRow: c.dim + 2 * c.kvDim) { range in
            for i in range {
                let query = q + i * c.dim, keyRow = k + i * c.kvDim, valueRow = v + i * c.kvDim
                addBias(layer.queryBias, to: query, rows: 1)
                addBias(layer.keyBias, to: keyRow, rows: 1)
                addBias(layer.valueBias, to: valueRow, rows: 1)
                rope.rotate(query, heads: c.heads, position: start + i)
                rope.rotate(keyRow, heads: c.kvHeads, position: start + i)
                let cached = (start + i) * c.kvDim
                convertToHalves(keyRow, count: c.kvDim, into: keys[l] + cached)
                convertToHalves(valueRow, count: c.kvDim, into: values[l] + cached)
            }
        }
    }

    private func normRows(_ input: UnsafeMutablePointer<Float>, weight: [Float], rows: Int, into out: UnsafeMutablePointer<Float>) {
        let c = model.config
        pool.parallelRows(rows, elementsPerRow: c.dim) { range in
            for i in range {
                rmsNorm(input + i * c.dim, weight: weight, count: c.dim, epsilon: c.normEpsilon, into: out + i * c.dim)
            }
        }
    }

    /// x[i] += delta[i] for `rows` rows of the residual stream.
    private func addRows(_ delta: UnsafeMutablePointer<Float>, to x: UnsafeMutablePointer<Float>, rows: Int) {
        let dim = model.config.dim
        pool.parallelRows(rows, elementsPerRow: dim) { range in
            let offset = range.lowerBound * dim
            add(x + offset, delta + offset, count: range.count * dim, into: x + offset)
        }
    }

    private func embed(_ token: Int32, into out: UnsafeMutablePointer<Float>) {
        model.weights.tokenEmbedding.dequantizeRow(Int(token), into: out)
    }
}
