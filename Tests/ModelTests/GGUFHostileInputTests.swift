import Kernels
import Testing
@testable import Model

/// Hand-built malicious or broken files: each must fail with an error that names the problem.
@Suite struct GGUFHostileInputTests {
    private func load(_ raw: RawGGUF) -> GGUFError? {
        ggufError { _ = try GGUFFile(bytes: raw.bytes) }
    }

    /// A file with one metadata key `k` of `type`, whose payload `value` appends.
    private func oneKey(_ type: GGUFValueType, key: String = "k", _ value: (inout RawGGUF) -> Void) -> RawGGUF {
        var r = RawGGUF()
        r.header(tensors: 0, kvs: 1)
        r.string(key)
        r.u32(type.rawValue)
        value(&r)
        return r
    }

    /// A file with no metadata and one tensor info, followed by `dataBytes` of data at offset 32*k.
    private func oneTensor(dims: [UInt64], type: UInt32 = 0, offset: UInt64 = 0, nDims: UInt32? = nil,
                           dataBytes: Int = 64) -> RawGGUF {
        var r = RawGGUF()
        r.header(tensors: 1, kvs: 0)
        r.string("w")
        r.u32(nDims ?? UInt32(dims.count))
        for d in dims { r.u64(d) }
        r.u32(type)
        r.u64(offset)
        r.raw([UInt8](repeating: 0, count: (32 - r.bytes.count % 32) % 32 + dataBytes))
        return r
    }

    @Test func headerProblems() {
        #expect(ggufError { _ = try GGUFFile(bytes: []) } == .fileTooSmall(size: 0, minimum: 24))
        var r = RawGGUF()
        r.raw(Array("GGML".utf8)); r.u32(3); r.u64(0); r.u64(0)
        #expect(load(r)?.description == "not a GGUF file: magic bytes are [47 47 4D 4C], expected \"GGUF\" [47 47 55 46]")
        r = RawGGUF(); r.header(tensors: 0, kvs: 0, version: 1)
        #expect(load(r)?.description == "unsupported GGUF version 1; expected 3 (or 2)")
        r = RawGGUF(); r.header(tensors: 0, kvs: 0, version: 0x0300_0000)
        #expect(load(r)?.description.contains("big-endian GGUF v3") == true)
        r = RawGGUF(); r.header(tensors: 0, kvs: 0, version: 2)
        #expect(load(r) == nil)
    }

    @Test func hugeCountsAreRejectedBeforeAllocating() {
        var r = RawGGUF(); r.header(tensors: 1 << 60, kvs: 0)
        #expect(load(r)?.description == "tensor count at offset 8 is 1152921504606846976, more than the rest of the file can hold")
        r = RawGGUF(); r.header(tensors: 0, kvs: .max)
        #expect(load(r) == .tooLarge(what: "metadata count", count: .max, offset: 16))
        let arr = oneKey(.array) { $0.u32(GGUFValueType.uint8.rawValue); $0.u64(1 << 60) }
        #expect(load(arr) == .tooLarge(what: "array length of \"k\"", count: 1 << 60, offset: 41))
        let arrOfArr = oneKey(.array) { $0.u32(GGUFValueType.array.rawValue); $0.u64(1 << 40) }
        #expect(load(arrOfArr)?.description.contains("array length of \"k\"") == true)
        // 100 strings need at least 800 bytes; 100 bytes are there.
        let strings = oneKey(.array) { $0.u32(GGUFValueType.string.rawValue); $0.u64(100); $0.raw([UInt8](repeating: 0, count: 100)) }
        #expect(load(strings) == .tooLarge(what: "array length of \"k\"", count: 100, offset: 41))
    }

    @Test func hugeStringLengthsAreTruncationErrors() {
        var r = RawGGUF(); r.header(tensors: 0, kvs: 1); r.u64(1 << 63); r.raw([UInt8](repeating: 0x61, count: 20))
        #expect(load(r) == .truncated(what: "metadata key #0", offset: 32, needed: .max, available: 20))
        let value = oneKey(.string) { $0.u64(.max); $0.raw(Array("abc".utf8)) }
        #expect(load(value)?.description == "GGUF file truncated reading string value of \"k\" at offset 45: needed 9223372036854775807 bytes, 3 remain")
        let tensorName = { () -> RawGGUF in var r = RawGGUF(); r.header(tensors: 1, kvs: 0); r.u64(1 << 62); r.raw([UInt8](repeating: 0, count: 40)); return r }()
        #expect(load(tensorName)?.description.contains("tensor name #0") == true)
    }

    @Test func nestingDepthIsCapped() {
        func nested(_ levels: Int) -> RawGGUF {
            oneKey(.array) { r in
                for _ in 0 ..< levels - 1 { r.u32(GGUFValueType.array.rawValue); r.u64(1) }
                r.u32(GGUFValueType.uint8.rawValue); r.u64(0)
            }
        }
        #expect(load(nested(8)) == nil)
        #expect(load(nested(9))?.description.hasPrefix("metadata \"k\": arrays nested more than 8 deep") == true)
        #expect(load(nested(100_000)) == .nestingTooDeep(key: "k", limit: 8, offset: 37 + 8 * 12))
    }

    @Test func badValuesAndKeys() {
        #expect(load(oneKey(.bool) { $0.raw([2]) }) == .invalidBool(2, offset: 37))
        var r = RawGGUF(); r.header(tensors: 0, kvs: 1); r.string("k"); r.u32(13); r.u64(0)
        #expect(load(r)?.description == "invalid GGUF value type 13 at offset 33; expected 0...12")
        #expect(load(oneKey(.array) { $0.u32(99); $0.u64(0) }) == .invalidValueType(99, offset: 37))
        r = RawGGUF(); r.header(tensors: 0, kvs: 1); r.u64(2); r.raw([0xC3, 0x28]); r.u32(4); r.u32(0)
        #expect(load(r)?.description == "metadata key #0 at offset 24 is not valid UTF-8")
        let badValue = oneKey(.string) { $0.u64(3); $0.raw([0x61, 0xE2, 0x82]) }
        #expect(load(badValue) == .invalidUTF8(what: "string value of \"k\"", offset: 37))
        r = RawGGUF(); r.header(tensors: 0, kvs: 2)
        for _ in 0 ..< 2 { r.string("dup"); r.u32(GGUFValueType.uint8.rawValue); r.raw([1]) }
        #expect(load(r)?.description == "metadata key \"dup\" appears more than once")
    }

    @Test func badAlignments() {
        for (value, message) in [(GGUFValue.uint32(0), "general.alignment is 0"), (.uint32(48), "general.alignment is 48"),
                                 (.uint64(1 << 40), "general.alignment is 1099511627776"),
                                 (.uint64(.max), "general.alignment is 9223372036854775807"),
                                 (.string("32"), "general.alignment has type string; expected uint32")] {
            var r = RawGGUF(); r.header(tensors: 0, kvs: 1); r.string("general.alignment"); r.u32(value.type.rawValue)
            var w = GGUFByteWriter(); w.value(value); r.raw(w.bytes)
            #expect(load(r)?.description.hasPrefix(message) == true, "\(value)")
        }
    }

    @Test func badTensorInfos() {
        #expect(load(oneTensor(dims: [16])) == nil)
        #expect(load(oneTensor(dims: [1 << 32, 1 << 32]))?.description
                == "tensor \"w\" has invalid dimensions [4294967296, 4294967296]: element count overflows a 64-bit integer")
        #expect(load(oneTensor(dims: [1 << 31, 1 << 31]))?.description.contains("byte count overflows") == true)
        #expect(load(oneTensor(dims: [1 << 63]))?.description.contains("dimension 0 is 9223372036854775808, above Int64.max") == true)
        #expect(load(oneTensor(dims: [1, 1, 1, 1, 1]))?.description.contains("5 dimensions, at most 4 allowed") == true)
        #expect(load(oneTensor(dims: [], nDims: .max))?.description.contains("4294967295 dimensions") == true)
        #expect(load(oneTensor(dims: [16], type: 31)) == .unknownTensorType(31, tensor: "w"))
        #expect(load(oneTensor(dims: [16], type: .max))?.description == "tensor \"w\" has unknown ggml type id 4294967295")
        #expect(load(oneTensor(dims: [33], type: GGMLType.q8_0.rawValue))?.description
                == "tensor \"w\" has invalid dimensions [33]: first dimension 33 is not a multiple of the Q8_0 block size 32")
        #expect(load(oneTensor(dims: [16], offset: 4)) == .misalignedTensor(name: "w", offset: 4, alignment: 32))
        #expect(load(oneTensor(dims: [16], offset: 32)) == .tensorOutOfBounds(name: "w", offset: 32, byteCount: 64, dataSize: 64))
        #expect(load(oneTensor(dims: [17]))?.description == "tensor \"w\" needs bytes 0..<68 of the data section, which has 64 bytes")
        #expect(load(oneTensor(dims: [16], offset: UInt64.max & ~31))
                == .tooLarge(what: "data offset of tensor \"w\"", count: UInt64.max & ~31, offset: 49))
        #expect(load(oneTensor(dims: [16], offset: UInt64(Int.max) & ~31))?.description
                == "tensor \"w\" needs 64 bytes at offset 9223372036854775776 of the data section, which has 64 bytes")
        var r = RawGGUF(); r.header(tensors: 2, kvs: 0)
        for _ in 0 ..< 2 { r.string("t"); r.u32(1); r.u64(1); r.u32(0); r.u64(0) }
        r.raw([UInt8](repeating: 0, count: 64))
        #expect(load(r) == .duplicateTensor("t"))
    }
}
