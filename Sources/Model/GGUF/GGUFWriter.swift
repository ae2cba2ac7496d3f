import Glibc
import Kernels

/// Builds a GGUF v3 file: metadata and tensors in insertion order.
///
/// Tensor offsets are assigned at write time: each tensor starts on a multiple of the alignment and
/// is followed by zero padding, as ggml and the Python `gguf` package lay files out.
public struct GGUFWriter {
    /// The data alignment; kept in step with the `general.alignment` key.
    public private(set) var alignment: Int
    private var metadata: [(key: String, value: GGUFValue)] = []
    private var keyIndex: [String: Int] = [:]
    private var tensors: [(name: String, type: GGMLType, dimensions: [Int], data: [UInt8])] = []
    private var tensorNames: Set<String> = []

    /// Starts an empty file; a non-default alignment is recorded as `general.alignment` (uint32).
    public init(alignment: Int = 32) {
        precondition(Self.isValidAlignment(alignment), "GGUF alignment must be a power of two up to 2^30, got \(alignment)")
        self.alignment = alignment
        if alignment != GGUFLimits.defaultAlignment {
            set("general.alignment", .uint32(UInt32(alignment)))
        }
    }

    /// Sets a metadata value, replacing an existing key in place (so its position is kept).
    ///
    /// Setting `general.alignment` changes the writer's alignment; it must be a uint32 power of two.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        precondition(value.isWellTyped, "GGUF metadata \"\(key)\": array elements must all have the array's element type")
        if key == "general.alignment" {
            guard case .uint32(let a) = value, Self.isValidAlignment(Int(a)) else {
                preconditionFailure("general.alignment must be a uint32 power of two up to 2^30, got \(value)")
            }
            alignment = Int(a)
        }
        if let i = keyIndex[key] {
            metadata[i].value = value
        } else {
            keyIndex[key] = metadata.count
            metadata.append((key, value))
        }
    }

    /// Adds a tensor; `data` must hold exactly the bytes its type and shape need.
    public mutating func addTensor(name: String, type: GGMLType, dimensions: [Int], data: [UInt8]) throws(GGUFError) {
        guard !tensorNames.contains(name) else { throw .duplicateTensor(name) }
        let info = try GGUFTensorInfo(name: name, dimensions: dimensions, type: type, offset: 0)
        guard info.byteCount == data.count else {
            throw .dataSizeMismatch(tensor: name, expected: info.byteCount, found: data.count)
        }
        tensorNames.insert(name)
        tensors.append((name, type, dimensions, data))
    }

    /// The complete file as bytes.
    public func serialized() -> [UInt8] {
        var out = headerRegion()
        for t in tensors {
            out.append(contentsOf: t.data)
            out.append(contentsOf: repeatElement(0, count: padding(after: t.data.count)))
        }
        return out
    }

    /// Writes the file atomically: a temporary file beside `path`, fsync, then rename over `path`.
    public func write(to path: String) throws(GGUFError) {
        var template = Array("\(path).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .io(path: path, operation: "create temporary file for", errno: errno) }
        let tempPath = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do throws(GGUFError) {
            // mkstemp creates 0600; a model file is ordinary readable data.
            _ = fchmod(fd, 0o644)
            try Self.writeAll(fd, headerRegion(), path: tempPath)
            for t in tensors {
                try Self.writeAll(fd, t.data, path: tempPath)
                try Self.writeAll(fd, [UInt8](repeating: 0, count: padding(after: t.data.count)), path: tempPath)
            }
            guard fsync(fd) == 0 else { throw .io(path: tempPath, operation: "fsync", errno: errno) }
        } catch {
            close(fd)
            unlink(tempPath)
            throw error
        }
        guard close(fd) == 0 else {
            let code = errno
            unlink(tempPath)
            throw .io(path: tempPath, operation: "close", errno: code)
        }
        guard rename(tempPath, path) == 0 else {
            let code = errno
            unlink(tempPath)
            throw .io(path: path, operation: "rename \(tempPath) to", errno: code)
        }
        // Make the rename itself durable; failure here leaves a complete file, so it is not an error.
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let dirFD = open(dir.isEmpty ? "/" : dir, O_RDONLY | O_DIRECTORY)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// Header, metadata, tensor infos and the padding up to the data section.
    private func headerRegion() -> [UInt8] {
        var w = GGUFByteWriter()
        w.bytes.append(contentsOf: GGUFParser.magic)
        w.u32(3)
        w.u64(UInt64(tensors.count))
        w.u64(UInt64(metadata.count))
        for (key, value) in metadata {
            w.string(key)
            w.u32(value.type.rawValue)
            w.value(value)
        }
        var offset = 0
        for t in tensors {
            w.string(t.name)
            w.u32(UInt32(t.dimensions.count))
            for d in t.dimensions { w.u64(UInt64(d)) }
            w.u32(t.type.rawValue)
            w.u64(UInt64(offset))
            offset += t.data.count + padding(after: t.data.count)
        }
        w.bytes.append(contentsOf: repeatElement(0, count: padding(after: w.bytes.count)))
        return w.bytes
    }

    private func padding(after count: Int) -> Int {
        GGUFParser.padded(count, to: alignment).0 - count
    }

    private static func isValidAlignment(_ a: Int) -> Bool {
        a > 0 && a <= GGUFLimits.maxAlignment && a & (a - 1) == 0
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(GGUFError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }
}

/// Appends little-endian GGUF encodings to a byte array.
struct GGUFByteWriter {
    var bytes: [UInt8] = []

    mutating func fixed<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u32(_ v: UInt32) { fixed(v) }
    mutating func u64(_ v: UInt64) { fixed(v) }

    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// The value's payload, without its type tag.
    mutating func value(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): fixed(x)
        case .int8(let x): fixed(x)
        case .uint16(let x): fixed(x)
        case .int16(let x): fixed(x)
        case .uint32(let x): fixed(x)
        case .int32(let x): fixed(x)
        case .uint64(let x): fixed(x)
        case .int64(let x): fixed(x)
        case .float32(let x): fixed(x.bitPattern)
        case .float64(let x): fixed(x.bitPattern)
        case .bool(let x): fixed(UInt8(x ? 1 : 0))
        case .string(let s): string(s)
        case .array(let a):
            u32(a.elementType.rawValue)
            u64(UInt64(a.values.count))
            for e in a.values { value(e) }
        }
    }
}
