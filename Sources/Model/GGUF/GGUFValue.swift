/// The type tag GGUF writes before every metadata value.
// Interpolating a case prints its name ("uint32"), which is how the summary and errors show it.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

    /// Bytes one value of this type takes on disk, or nil for strings and arrays (variable length).
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The fewest bytes one value of this type can take on disk; used to reject impossible counts early.
    var minimumEncodedSize: Int {
        switch self {
        case .string: return 8              // UInt64 length, possibly zero bytes of text
        case .array: return 12              // UInt32 element type + UInt64 count
        default: return fixedSize!
        }
    }
}

/// A GGUF array: arrays keep their element type even when empty.
public struct GGUFArray: Equatable, Sendable {
    public var elementType: GGUFValueType
    public var values: [GGUFValue]

    /// An array of `elementType`; every value must have that type (checked when the writer stores it).
    public init(elementType: GGUFValueType, values: [GGUFValue]) {
        self.elementType = elementType
        self.values = values
    }

    /// True when every element has `elementType`, recursively.
    public var isWellTyped: Bool {
        values.allSatisfy { $0.type == elementType && $0.isWellTyped }
    }
}

// Not declared `indirect`: the recursion goes through `[GGUFValue]`, which is already heap storage,
// so scalar values stay unboxed (a 50k-token vocabulary would otherwise cost 50k extra allocations).
/// A GGUF metadata value.
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    case array(GGUFArray)

    /// The on-disk type tag of this value.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        case .array: return .array
        }
    }

    /// True unless this is an array (at any depth) holding an element of the wrong type.
    public var isWellTyped: Bool {
        if case .array(let a) = self { return a.isWellTyped }
        return true
    }

    /// The value of any integer type, when it fits in `Int`.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// The value of a float or integer type, converted to `Float`.
    public var float: Float? {
        switch self {
        case .float32(let v): return v
        case .float64(let v): return Float(v)
        default: return int.map(Float.init)
        }
    }

    /// The value of a `.string`.
    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value of a `.bool`.
    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The elements of an array of strings.
    public var strings: [String]? { arrayElements { $0.string } }

    /// The elements of an array of integers, when every element fits in `Int`.
    public var ints: [Int]? { arrayElements { $0.int } }

    /// The elements of an array of floats or integers, converted to `Float`.
    public var floats: [Float]? { arrayElements { $0.float } }

    /// An array of strings.
    public static func stringArray(_ values: [String]) -> GGUFValue {
        .array(GGUFArray(elementType: .string, values: values.map { .string($0) }))
    }

    /// An array of Int32, the type llama.cpp uses for token types.
    public static func int32Array(_ values: [Int32]) -> GGUFValue {
        .array(GGUFArray(elementType: .int32, values: values.map { .int32($0) }))
    }

    /// An array of Float, the type llama.cpp uses for token scores.
    public static func float32Array(_ values: [Float]) -> GGUFValue {
        .array(GGUFArray(elementType: .float32, values: values.map { .float32($0) }))
    }

    private func arrayElements<T>(_ convert: (GGUFValue) -> T?) -> [T]? {
        guard case .array(let a) = self else { return nil }
        var out: [T] = []
        out.reserveCapacity(a.values.count)
        for v in a.values {
            guard let t = convert(v) else { return nil }
            out.append(t)
        }
        return out
    }
}
