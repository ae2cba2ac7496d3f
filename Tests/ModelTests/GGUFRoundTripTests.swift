import Foundation
import Kernels
import Testing
@testable import Model

@Suite struct GGUFRoundTripTests {
    @Test func everyValueTypeRoundTripsInOrder() throws {
        let file = try GGUFFile(bytes: try GGUFFixture.writer().serialized())
        #expect(file.version == 3)
        #expect(file.metadata.map(\.key) == GGUFFixture.metadata.map(\.0))
        for (key, value) in GGUFFixture.metadata {
            #expect(file[key] == value, "\(key)")
        }
        #expect(file["missing"] == nil)
        // Empty arrays keep their element type.
        #expect(file["t.arr.empty_strings"] == .array(GGUFArray(elementType: .string, values: [])))
        #expect(file["t.arr.empty_arrays"] == .array(GGUFArray(elementType: .array, values: [])))
        #expect(file["t.arr.empty_strings"] != .array(GGUFArray(elementType: .int32, values: [])))
    }

    @Test func exactByteLayoutOfATinyFile() throws {
        var w = GGUFWriter()
        w.set("a", .uint32(7))
        try w.addTensor(name: "t", type: .f32, dimensions: [2], data: [0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0])
        var expected: [UInt8] = [0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]
        expected += [1, 0, 0, 0, 0, 0, 0, 0] + [1, 0, 0, 0, 0, 0, 0, 0]             // tensor count, kv count
        expected += [1, 0, 0, 0, 0, 0, 0, 0, 0x61] + [4, 0, 0, 0] + [7, 0, 0, 0]   // "a": uint32 7
        expected += [1, 0, 0, 0, 0, 0, 0, 0, 0x74] + [1, 0, 0, 0]                 // "t", 1 dim
        expected += [2, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0] + [UInt8](repeating: 0, count: 8) // ne0, F32, offset 0
        expected += [UInt8](repeating: 0, count: 96 - expected.count)             // pad to alignment 32
        expected += [0, 0, 0x80, 0x3F, 0, 0, 0x20, 0xC0] + [UInt8](repeating: 0, count: 24)
        #expect(w.serialized() == expected)

        let file = try GGUFFile(bytes: expected)
        #expect(file.dataOffset == 96)
        let t = try #require(file.tensor(named: "t"))
        let floats = file.data(for: t).withMemoryRebound(to: Float.self) { Array($0) }
        #expect(floats == [1.0, -2.5])
    }

    @Test func tensorDataRoundTripsAlignedAtSeveralAlignments() throws {
        for alignment in [32, 1, 8, 64, 256] {
            let file = try GGUFFile(bytes: try GGUFFixture.writer(alignment: alignment).serialized())
            #expect(file.alignment == alignment)
            #expect(file["general.alignment"] == (alignment == 32 ? nil : .uint32(UInt32(alignment))))
            #expect(file.dataOffset % alignment == 0)
            #expect(file.tensors.map(\.name) == GGUFFixture.tensorSpecs.map(\.0))
            for (i, (name, type, dims)) in GGUFFixture.tensorSpecs.enumerated() {
                let t = try #require(file.tensor(named: name))
                #expect(t.type == type && t.dimensions == dims)
                #expect(t.offset % alignment == 0)
                #expect(t.elementCount == dims.reduce(1, *))
                let bytes = file.data(for: t)
                #expect(Array(bytes) == GGUFFixture.data(for: i, byteCount: t.byteCount), "\(name) @\(alignment)")
                // The in-memory buffer is page aligned, so file alignment carries over to memory.
                if t.byteCount > 0 { #expect(Int(bitPattern: bytes.baseAddress) % alignment == 0) }
            }
        }
    }

    @Test func quantizedSizesFollowGGMLBlocks() throws {
        let file = try GGUFFile(bytes: try GGUFFixture.writer().serialized())
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.byteCount == 2 * 34)   // 2 rows of one Q8_0 block
        #expect(file.tensor(named: "blk.0.ffn.weight")?.byteCount == 2 * 18)      // 64 elements = 2 Q4_0 blocks
        #expect(file.tensor(named: "blk.0.norm")?.byteCount == 10)
        #expect(file.tensor(named: "empty")?.byteCount == 0)
        #expect(file.tensor(named: "nope") == nil)
    }

    @Test func alignmentSetThroughMetadataIsHonoured() throws {
        var w = try GGUFFixture.writer()
        w.set("general.alignment", .uint32(128))
        #expect(w.alignment == 128)
        let file = try GGUFFile(bytes: w.serialized())
        #expect(file.alignment == 128)
        #expect(file.tensors.allSatisfy { $0.offset % 128 == 0 })
        #expect(file.dataOffset % 128 == 0)
    }

    @Test func setReplacesInPlace() throws {
        var w = GGUFWriter()
        w.set("x", .int32(1)); w.set("y", .string("a")); w.set("x", .float32(2))
        let file = try GGUFFile(bytes: w.serialized())
        #expect(file.metadata.map(\.key) == ["x", "y"])
        #expect(file["x"] == .float32(2))
    }

    @Test func floatBitPatternsSurvive() throws {
        let nan = Float(bitPattern: 0x7FC0_1234)
        var w = GGUFWriter()
        w.set("f", .float32(nan)); w.set("d", .float64(-0.0))
        let file = try GGUFFile(bytes: w.serialized())
        guard case .float32(let f) = file["f"], case .float64(let d) = file["d"] else {
            Issue.record("wrong types"); return
        }
        #expect(f.bitPattern == 0x7FC0_1234)
        #expect(d.bitPattern == (-0.0 as Double).bitPattern)
    }

    @Test func convenienceAccessors() {
        #expect(GGUFValue.uint64(5).int == 5)
        #expect(GGUFValue.uint64(.max).int == nil)
        #expect(GGUFValue.int8(-3).int == -3)
        #expect(GGUFValue.float32(1).int == nil)
        #expect(GGUFValue.float64(0.5).float == 0.5)
        #expect(GGUFValue.uint16(7).float == 7)
        #expect(GGUFValue.string("s").string == "s")
        #expect(GGUFValue.bool(true).bool == true)
        #expect(GGUFValue.int32(1).bool == nil)
        #expect(GGUFValue.stringArray(["a", "b"]).strings == ["a", "b"])
        #expect(GGUFValue.int32Array([1, 2]).ints == [1, 2])
        #expect(GGUFValue.int32Array([1, 2]).strings == nil)
        #expect(GGUFValue.float32Array([0.5]).floats == [0.5])
        #expect(GGUFValue.int32Array([3]).floats == [3])
        #expect(GGUFValue.string("x").ints == nil)
        #expect(GGUFValue.array(GGUFArray(elementType: .string, values: [.int32(1)])).isWellTyped == false)
    }

    @Test func writerRejectsBadTensors() throws {
        var w = GGUFWriter()
        #expect(ggufError { try w.addTensor(name: "a", type: .f32, dimensions: [3], data: [0, 0, 0, 0]) }
                == .dataSizeMismatch(tensor: "a", expected: 12, found: 4))
        #expect(ggufError { try w.addTensor(name: "q", type: .q8_0, dimensions: [31], data: []) }?
                    .description.contains("not a multiple of the Q8_0 block size 32") == true)
        #expect(ggufError { try w.addTensor(name: "n", type: .f32, dimensions: [-1], data: []) }?
                    .description.contains("negative") == true)
        #expect(ggufError { try w.addTensor(name: "d", type: .f32, dimensions: [1, 1, 1, 1, 1], data: [0, 0, 0, 0]) }?
                    .description.contains("5 dimensions") == true)
        try w.addTensor(name: "ok", type: .f32, dimensions: [1], data: [0, 0, 0, 0])
        #expect(ggufError { try w.addTensor(name: "ok", type: .f32, dimensions: [1], data: [0, 0, 0, 0]) }
                == .duplicateTensor("ok"))
    }

    @Test func writeToDiskIsAtomicAndMmapReadsIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.gguf").path
        let w = try GGUFFixture.writer(alignment: 64)
        try w.write(to: path)
        try w.write(to: path)  // replacing an existing file works too
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.gguf"])
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == w.serialized())
        let file = try GGUFFile(path: path)
        #expect(file.fileSize == w.serialized().count)
        #expect(file.metadata.map(\.key) == ["general.alignment"] + GGUFFixture.metadata.map(\.0))
        for (i, spec) in GGUFFixture.tensorSpecs.enumerated() {
            let t = try #require(file.tensor(named: spec.0))
            #expect(Array(file.data(for: t)) == GGUFFixture.data(for: i, byteCount: t.byteCount))
        }
    }

    @Test func fileErrorsAreClear() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("missing.gguf").path
        let e1 = ggufError { _ = try GGUFFile(path: missing) }
        #expect(e1?.description == "open \(missing): No such file or directory (errno 2)")
        let empty = dir.appendingPathComponent("empty.gguf").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(ggufError { _ = try GGUFFile(path: empty) } == .fileTooSmall(size: 0, minimum: 24))
        let tiny = dir.appendingPathComponent("tiny.gguf").path
        _ = FileManager.default.createFile(atPath: tiny, contents: Data("GGUF".utf8))
        #expect(ggufError { _ = try GGUFFile(path: tiny) }?.description == "GGUF file is 4 bytes; a GGUF header alone needs 24")
        #expect(ggufError { _ = try GGUFFile(path: dir.path) }?.description == "open \(dir.path): Is a directory (errno 21)")
        let badDir = dir.appendingPathComponent("no/such/dir/x.gguf").path
        #expect(ggufError { try GGUFWriter().write(to: badDir) }?.description.contains("No such file or directory") == true)
    }

    @Test func largeVocabularyParsesQuickly() throws {
        let tokens = (0 ..< 50_000).map { "tok\($0)_" + String(repeating: "x", count: $0 % 13) }
        var w = GGUFWriter()
        w.set("tokenizer.ggml.tokens", .stringArray(tokens))
        w.set("tokenizer.ggml.scores", .float32Array(tokens.indices.map { Float($0) }))
        w.set("tokenizer.ggml.token_type", .int32Array(tokens.indices.map { Int32($0 % 3) }))
        let bytes = w.serialized()
        let clock = ContinuousClock()
        var file: GGUFFile?
        let elapsed = try clock.measure { file = try GGUFFile(bytes: bytes) }
        #expect(file?["tokenizer.ggml.tokens"]?.strings == tokens)
        #expect(file?["tokenizer.ggml.scores"]?.floats?.last == 49_999)
        // Generous for a debug build on a shared machine; release parses this in a few milliseconds.
        #expect(elapsed < .seconds(2), "parsing 150k values took \(elapsed)")
    }

    @Test func summaryAbbreviatesAndTabulates() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("tokenizer.ggml.tokens", .stringArray((0 ..< 8192).map { $0 == 0 ? "<unk>" : $0 == 1 ? "a" : "t\($0)" }))
        w.set("short", .int32Array([1, 2]))
        w.set("long.string", .string(String(repeating: "é", count: 100)))
        try w.addTensor(name: "w", type: .q8_0, dimensions: [32, 4], data: [UInt8](repeating: 0, count: 136))
        let text = try GGUFFile(bytes: w.serialized()).summary(arrayPreview: 2)
        #expect(text.hasPrefix("GGUF v3, "))
        #expect(text.contains("alignment 32"))
        #expect(text.contains("  general.architecture: string = \"llama\"\n"))
        #expect(text.contains("  tokenizer.ggml.tokens: array = [8192 strings: \"<unk>\", \"a\", ...]\n"))
        #expect(text.contains("  short: array = [2 int32s: 1, 2]\n"))
        #expect(text.contains("...\" (200 bytes)"))
        #expect(text.contains("  name  dims     type  bytes  offset\n"))
        #expect(text.contains("  w     [32, 4]  Q8_0    136       0\n"))
    }
}
