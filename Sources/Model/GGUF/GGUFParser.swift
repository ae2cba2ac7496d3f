import Kernels

/// Everything a GGUF file's header region says, parsed and validated against the file's bytes.
struct GGUFParsed {
    var version: UInt32
    var metadata: [(key: String, value: GGUFValue)]
    var index: [String: Int]
    var tensors: [GGUFTensorInfo]
    var tensorIndex: [String: Int]
    var alignment: Int
    /// File offset where the data section begins (may equal the file size when there is no data).
    var dataOffset: Int
}

/// Parses GGUF v2/v3 (little-endian) from untrusted bytes; never traps on malformed input.
enum GGUFParser {
    static let magic: [UInt8] = Array("GGUF".utf8)

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(GGUFError) -> GGUFParsed {
        guard bytes.count >= GGUFLimits.headerSize else {
            throw .fileTooSmall(size: bytes.count, minimum: GGUFLimits.headerSize)
        }
        var r = GGUFByteReader(bytes)
        let found = Array(bytes[0 ..< 4])
        guard found == magic else { throw .badMagic(found: found) }
        r.skip(to: 4)
        let version = try r.u32("version")
        guard version == 3 || version == 2 else { throw .unsupportedVersion(version) }
        // Smallest tensor info: empty name (8) + n_dims (4) + type (4) + offset (8).
        let tensorCount = try r.count("tensor count", minimumSize: 24)
        // Smallest key-value pair: empty key (8) + type (4) + one byte of value.
        let kvCount = try r.count("metadata count", minimumSize: 13)

        var metadata: [(key: String, value: GGUFValue)] = []
        var index: [String: Int] = [:]
        metadata.reserveCapacity(kvCount)
        index.reserveCapacity(kvCount)
        for i in 0 ..< kvCount {
            let key = try r.string("metadata key #\(i)")
            guard index[key] == nil else { throw .duplicateKey(key) }
            let typeOffset = r.position
            let rawType = try r.u32("type of \"\(key)\"")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw .invalidValueType(rawType, offset: typeOffset)
            }
            let value = try readValue(type, &r, key: key, depth: 0)
            index[key] = metadata.count
            metadata.append((key, value))
        }

        // Any integer type is accepted here, though ggml writes (and requires) uint32.
        let alignment = try alignment(from: index["general.alignment"].map { metadata[$0].value })
        let tensors = try readTensorInfos(count: tensorCount, &r, alignment: alignment)

        let (dataOffset, overflow) = padded(r.position, to: alignment)
        let dataStart = overflow ? bytes.count : min(dataOffset, bytes.count)
        let dataSize = bytes.count - dataStart
        for t in tensors.infos {
            let (end, over) = t.offset.addingReportingOverflow(t.byteCount)
            guard !over, end <= dataSize else {
                throw .tensorOutOfBounds(name: t.name, offset: t.offset, byteCount: t.byteCount, dataSize: dataSize)
            }
        }
        // Each tensor owns its bytes: a wrong type tag or shape makes one tensor run into the next.
        let byOffset = tensors.infos.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw .overlappingTensors(a.name, b.name)
        }
        return GGUFParsed(version: version, metadata: metadata, index: index, tensors: tensors.infos,
                          tensorIndex: tensors.index, alignment: alignment, dataOffset: dataStart)
    }

    /// Rounds `offset` up to a multiple of the power of two `alignment`.
    static func padded(_ offset: Int, to alignment: Int) -> (Int, overflow: Bool) {
        let (sum, overflow) = offset.addingReportingOverflow(alignment - 1)
        return (sum & ~(alignment - 1), overflow)
    }

    private static func alignment(from value: GGUFValue?) throws(GGUFError) -> Int {
        guard let value else { return GGUFLimits.defaultAlignment }
        guard let a = value.int else {
            if value.type == .uint64 { throw .badAlignment(Int.max) }   // an unsigned value above Int.max
            throw .alignmentNotInteger(value.type)
        }
        guard a > 0, a <= GGUFLimits.maxAlignment, a & (a - 1) == 0 else { throw .badAlignment(a) }
        return a
    }

    private static func readValue(_ type: GGUFValueType, _ r: inout GGUFByteReader, key: String,
                                  depth: Int) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try r.fixed(UInt8.self, "uint8 value of \"\(key)\""))
        case .int8: return .int8(try r.fixed(Int8.self, "int8 value of \"\(key)\""))
        case .uint16: return .uint16(try r.fixed(UInt16.self, "uint16 value of \"\(key)\""))
        case .int16: return .int16(try r.fixed(Int16.self, "int16 value of \"\(key)\""))
        case .uint32: return .uint32(try r.u32("uint32 value of \"\(key)\""))
        case .int32: return .int32(try r.fixed(Int32.self, "int32 value of \"\(key)\""))
        case .uint64: return .uint64(try r.u64("uint64 value of \"\(key)\""))
        case .int64: return .int64(try r.fixed(Int64.self, "int64 value of \"\(key)\""))
        case .float32: return .float32(Float(bitPattern: try r.u32("float32 value of \"\(key)\"")))
        case .float64: return .float64(Double(bitPattern: try r.u64("float64 value of \"\(key)\"")))
        case .bool:
            let at = r.position
            let byte = try r.fixed(UInt8.self, "bool value of \"\(key)\"")
            guard byte <= 1 else { throw .invalidBool(byte, offset: at) }
            return .bool(byte == 1)
        case .string:
            // Rejected rather than repaired: replacing bad bytes could make two vocabulary tokens equal.
            return .string(try r.string("string value of \"\(key)\""))
        case .array:
            guard depth < GGUFLimits.maxNesting else {
                throw .nestingTooDeep(key: key, limit: GGUFLimits.maxNesting, offset: r.position)
            }
            let typeOffset = r.position
            let rawType = try r.u32("array element type of \"\(key)\"")
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw .invalidValueType(rawType, offset: typeOffset)
            }
            let count = try r.count("array length of \"\(key)\"", minimumSize: elementType.minimumEncodedSize)
            var values: [GGUFValue] = []
            values.reserveCapacity(count)
            for _ in 0 ..< count {
                values.append(try readValue(elementType, &r, key: key, depth: depth + 1))
            }
            return .array(GGUFArray(elementType: elementType, values: values))
        }
    }

    private static func readTensorInfos(count: Int, _ r: inout GGUFByteReader, alignment: Int)
        throws(GGUFError) -> (infos: [GGUFTensorInfo], index: [String: Int]) {
        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        infos.reserveCapacity(count)
        index.reserveCapacity(count)
        for i in 0 ..< count {
            let name = try r.string("tensor name #\(i)")
            guard index[name] == nil else { throw .duplicateTensor(name) }
            let nDims = try r.u32("dimension count of tensor \"\(name)\"")
            // Checked before reading the dims so a huge count never drives a loop or an allocation.
            guard nDims <= UInt32(GGUFLimits.maxDimensions) else {
                throw .invalidDimensions(tensor: name, dimensions: [],
                                         reason: "\(nDims) dimensions, at most \(GGUFLimits.maxDimensions) allowed")
            }
            var raw: [UInt64] = []
            for d in 0 ..< Int(nDims) { raw.append(try r.u64("dimension \(d) of tensor \"\(name)\"")) }
            let rawType = try r.u32("type of tensor \"\(name)\"")
            guard let type = GGMLType(rawValue: rawType) else { throw .unknownTensorType(rawType, tensor: name) }
            let (elements, bytes) = try GGUFTensorInfo.sizes(name: name, dimensions: raw, type: type)
            let offsetAt = r.position
            let rawOffset = try r.u64("data offset of tensor \"\(name)\"")
            guard rawOffset <= UInt64(Int.max) else {
                throw .tooLarge(what: "data offset of tensor \"\(name)\"", count: rawOffset, offset: offsetAt)
            }
            let offset = Int(rawOffset)
            guard offset % alignment == 0 else {
                throw .misalignedTensor(name: name, offset: offset, alignment: alignment)
            }
            index[name] = infos.count
            infos.append(GGUFTensorInfo(name: name, dimensions: raw.map { Int($0) }, type: type, offset: offset,
                                        elementCount: elements, byteCount: bytes))
        }
        return (infos, index)
    }
}
