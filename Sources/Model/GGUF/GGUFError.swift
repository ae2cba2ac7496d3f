import Glibc

/// Why a GGUF file could not be read or written; every case says where and what was expected.
public enum GGUFError: Error, Equatable, CustomStringConvertible {
    /// The file is smaller than the fixed 24-byte header.
    case fileTooSmall(size: Int, minimum: Int)
    /// The first four bytes are not "GGUF".
    case badMagic(found: [UInt8])
    /// A version other than 2 or 3 (the two share one layout).
    case unsupportedVersion(UInt32)
    /// A read ran past the end of the file.
    case truncated(what: String, offset: Int, needed: Int, available: Int)
    /// A value type tag outside 0...12.
    case invalidValueType(UInt32, offset: Int)
    /// A bool stored as a byte other than 0 or 1.
    case invalidBool(UInt8, offset: Int)
    /// A count or length that the rest of the file cannot possibly hold.
    case tooLarge(what: String, count: UInt64, offset: Int)
    /// Arrays nested deeper than `limit`.
    case nestingTooDeep(key: String, limit: Int, offset: Int)
    /// Bytes that are not valid UTF-8 where a string was expected.
    case invalidUTF8(what: String, offset: Int)
    /// The same metadata key appears twice.
    case duplicateKey(String)
    /// The same tensor name appears twice.
    case duplicateTensor(String)
    /// A ggml type id that `GGMLType` does not know.
    case unknownTensorType(UInt32, tensor: String)
    /// Shape problems: too many dimensions, a dimension too big, element count overflow,
    /// or a first dimension that is not a whole number of quantization blocks.
    case invalidDimensions(tensor: String, dimensions: [UInt64], reason: String)
    /// A tensor's bytes do not lie inside the data section.
    case tensorOutOfBounds(name: String, offset: Int, byteCount: Int, dataSize: Int)
    /// Two tensors' bytes overlap (a wrong type or shape makes one run into the next).
    case overlappingTensors(String, String)
    /// A tensor's offset is not a multiple of the file's alignment.
    case misalignedTensor(name: String, offset: Int, alignment: Int)
    /// `general.alignment` is not a positive power of two (or too big to be sensible).
    case badAlignment(Int)
    /// `general.alignment` has a non-integer type.
    case alignmentNotInteger(GGUFValueType)
    /// Writer: the bytes given for a tensor do not match its type and shape.
    case dataSizeMismatch(tensor: String, expected: Int, found: Int)
    /// A system call failed.
    case io(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case let .fileTooSmall(size, minimum):
            return "GGUF file is \(size) bytes; a GGUF header alone needs \(minimum)"
        case let .badMagic(found):
            let hex = found.map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            return "not a GGUF file: magic bytes are [\(hex)], expected \"GGUF\" [47 47 55 46]"
        case let .unsupportedVersion(v):
            if v.byteSwapped == 2 || v.byteSwapped == 3 {
                return "unsupported GGUF version \(v): this is a big-endian GGUF v\(v.byteSwapped) file; only little-endian is supported"
            }
            return "unsupported GGUF version \(v); expected 3 (or 2)"
        case let .truncated(what, offset, needed, available):
            return "GGUF file truncated reading \(what) at offset \(offset): needed \(needed) bytes, \(available) remain"
        case let .invalidValueType(raw, offset):
            return "invalid GGUF value type \(raw) at offset \(offset); expected 0...12"
        case let .invalidBool(byte, offset):
            return "bool at offset \(offset) is stored as \(byte); expected 0 or 1"
        case let .tooLarge(what, count, offset):
            return "\(what) at offset \(offset) is \(count), more than the rest of the file can hold"
        case let .nestingTooDeep(key, limit, offset):
            return "metadata \"\(key)\": arrays nested more than \(limit) deep at offset \(offset)"
        case let .invalidUTF8(what, offset):
            return "\(what) at offset \(offset) is not valid UTF-8"
        case let .duplicateKey(key):
            return "metadata key \"\(key)\" appears more than once"
        case let .duplicateTensor(name):
            return "tensor \"\(name)\" appears more than once"
        case let .unknownTensorType(raw, tensor):
            return "tensor \"\(tensor)\" has unknown ggml type id \(raw)"
        case let .invalidDimensions(tensor, dims, reason):
            return "tensor \"\(tensor)\" has invalid dimensions \(dims): \(reason)"
        case let .tensorOutOfBounds(name, offset, byteCount, dataSize):
            let (end, overflow) = offset.addingReportingOverflow(byteCount)
            let range = overflow ? "\(byteCount) bytes at offset \(offset)" : "bytes \(offset)..<\(end)"
            return "tensor \"\(name)\" needs \(range) of the data section, which has \(dataSize) bytes"
        case let .overlappingTensors(first, second):
            return "tensors \"\(first)\" and \"\(second)\" overlap in the data section (a wrong type or shape?)"
        case let .misalignedTensor(name, offset, alignment):
            return "tensor \"\(name)\" data offset \(offset) is not a multiple of the alignment \(alignment)"
        case let .badAlignment(a):
            return "general.alignment is \(a); expected a power of two between 1 and \(GGUFLimits.maxAlignment)"
        case let .alignmentNotInteger(t):
            return "general.alignment has type \(t); expected uint32"
        case let .dataSizeMismatch(tensor, expected, found):
            return "tensor \"\(tensor)\": expected \(expected) bytes of data for its type and shape, got \(found)"
        case let .io(path, operation, code):
            return "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
        }
    }
}

/// Limits a reader enforces on untrusted files, and the format's fixed numbers.
enum GGUFLimits {
    static let headerSize = 24
    static let defaultAlignment = 32
    // ggml itself caps alignment far lower; 1 GiB keeps padding arithmetic far from overflow.
    static let maxAlignment = 1 << 30
    // ggml tensors have at most four dimensions.
    static let maxDimensions = 4
    // Real files nest at most one level; a cap stops a crafted file from exhausting the stack.
    static let maxNesting = 8
}
