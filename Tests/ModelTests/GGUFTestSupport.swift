import Kernels
@testable import Model

/// Shared fixtures for the GGUF tests.
enum GGUFFixture {
    /// Every value type, nested and empty arrays included, in a fixed order.
    static let metadata: [(String, GGUFValue)] = [
        ("general.architecture", .string("llama")),
        ("t.uint8", .uint8(250)), ("t.int8", .int8(-7)), ("t.uint16", .uint16(65000)), ("t.int16", .int16(-30000)),
        ("t.uint32", .uint32(4_000_000_000)), ("t.int32", .int32(-2_000_000_000)),
        ("t.float32", .float32(-1.5e-5)), ("t.bool.true", .bool(true)), ("t.bool.false", .bool(false)),
        ("t.string", .string("héllo ✓ \"quoted\"\n")), ("t.empty_string", .string("")),
        ("t.uint64", .uint64(.max)), ("t.int64", .int64(.min)), ("t.float64", .float64(Double.pi)),
        ("t.arr.uint8", .array(GGUFArray(elementType: .uint8, values: [.uint8(0), .uint8(255)]))),
        ("t.arr.int8", .array(GGUFArray(elementType: .int8, values: [.int8(-128), .int8(127)]))),
        ("t.arr.uint16", .array(GGUFArray(elementType: .uint16, values: [.uint16(1), .uint16(2)]))),
        ("t.arr.int16", .array(GGUFArray(elementType: .int16, values: [.int16(-1)]))),
        ("t.arr.uint32", .array(GGUFArray(elementType: .uint32, values: [.uint32(3), .uint32(4)]))),
        ("t.arr.int32", .int32Array([1, -2, 3])),
        ("t.arr.float32", .float32Array([0.25, -0.0, .infinity])),
        ("t.arr.bool", .array(GGUFArray(elementType: .bool, values: [.bool(true), .bool(false)]))),
        ("t.arr.string", .stringArray(["<unk>", "a", "", "ü"])),
        ("t.arr.uint64", .array(GGUFArray(elementType: .uint64, values: [.uint64(1 << 40)]))),
        ("t.arr.int64", .array(GGUFArray(elementType: .int64, values: [.int64(-(1 << 40))]))),
        ("t.arr.float64", .array(GGUFArray(elementType: .float64, values: [.float64(1e300)]))),
        ("t.arr.nested", .array(GGUFArray(elementType: .array, values: [
            .int32Array([1, 2]), .int32Array([]),
            .array(GGUFArray(elementType: .array, values: [.stringArray(["deep"])])),
        ]))),
        ("t.arr.empty_strings", .stringArray([])),
        ("t.arr.empty_arrays", .array(GGUFArray(elementType: .array, values: []))),
    ]

    /// (name, type, dims) of the fixture tensors; sizes cover plain, quantized and empty tensors.
    static let tensorSpecs: [(String, GGMLType, [Int])] = [
        ("token_embd.weight", .f32, [4, 3]),
        ("blk.0.attn_q.weight", .q8_0, [32, 2]),
        ("blk.0.norm", .f16, [5]),
        ("empty", .f32, [0, 7]),
        ("blk.0.ffn.weight", .q4_0, [64]),
    ]

    /// Deterministic bytes for a tensor: a simple pattern seeded by its name length and index.
    static func data(for index: Int, byteCount: Int) -> [UInt8] {
        (0 ..< byteCount).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index &* 7 &+ 1) }
    }

    static func writer(alignment: Int = 32) throws -> GGUFWriter {
        var w = GGUFWriter(alignment: alignment)
        for (k, v) in metadata { w.set(k, v) }
        for (i, (name, type, dims)) in tensorSpecs.enumerated() {
            let info = try GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: 0)
            try w.addTensor(name: name, type: type, dimensions: dims, data: data(for: i, byteCount: info.byteCount))
        }
        return w
    }
}

/// Appends little-endian fields, for hand-building hostile files.
struct RawGGUF {
    var bytes: [UInt8] = []
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func raw(_ b: [UInt8]) { bytes += b }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func header(tensors: UInt64, kvs: UInt64, version: UInt32 = 3) {
        raw(Array("GGUF".utf8)); u32(version); u64(tensors); u64(kvs)
    }
}

/// Runs `body` and returns the GGUFError it throws, or nil if it succeeds.
func ggufError(_ body: () throws -> Void) -> GGUFError? {
    do {
        try body()
        return nil
    } catch let e as GGUFError {
        return e
    } catch {
        return nil
    }
}
