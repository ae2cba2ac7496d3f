/// Decodes `Decodable` types from a `JSONValue`, reporting failures as `JSONCodingError` with the
/// coding path (`params.position.line: expected integer, found string`).
///
/// Integer types accept `.int` and also `.double` values that are exact integers in range
/// (some clients write `3.0`); floating-point types accept both number kinds.
public struct JSONValueDecoder: Sendable {
    /// A decoder with no options.
    public init() {}

    /// Decodes `type` from `value`; `path` prefixes the coding path in errors (e.g. "params").
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, path: String = "") throws -> T {
        if T.self == JSONValue.self { return value as! T }
        do {
            return try T(from: NodeDecoder(value: value, codingPath: [], prefix: path))
        } catch let error as JSONCodingError {
            throw error
        } catch {
            throw translate(error, prefix: path)
        }
    }
}

/// Lets `JSONValue.init(from:)` take its value straight from our decoder.
protocol JSONValueDecoding {
    var value: JSONValue { get }
}

private struct NodeDecoder: Decoder, JSONValueDecoding {
    let value: JSONValue
    let codingPath: [any CodingKey]
    let prefix: String
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = value else { throw mismatch("object") }
        return KeyedDecodingContainer(KeyedNodeDecoder<Key>(members: members, codingPath: codingPath, prefix: prefix))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch("array") }
        return UnkeyedNodeDecoder(elements: elements, codingPath: codingPath, prefix: prefix)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func mismatch(_ expected: String) -> JSONCodingError {
        .typeMismatch(path: renderPath(prefix: prefix, codingPath), expected: expected, found: value.kindName)
    }
}

extension NodeDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value.isNull }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = value else { throw mismatch("boolean") }
        return flag
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let text) = value else { throw mismatch("string") }
        return text
    }

    func decode(_ type: Double.Type) throws -> Double { try floatingPoint() }
    func decode(_ type: Float.Type) throws -> Float { Float(try floatingPoint()) }
    func decode(_ type: Int.Type) throws -> Int { try integer() }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
    func decode(_ type: UInt.Type) throws -> UInt { try integer() }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        return try T(from: self)
    }

    private func floatingPoint() throws -> Double {
        switch value {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: throw mismatch("number")
        }
    }

    private func integer<T: FixedWidthInteger>() throws -> T {
        let path = renderPath(prefix: prefix, codingPath)
        switch value {
        case .int(let number):
            guard let exact = T(exactly: number) else {
                throw JSONCodingError.outOfRange(path: path, value: "\(number)", type: "\(T.self)")
            }
            return exact
        case .double(let number):
            guard number.rounded() == number else { throw mismatch("integer") }
            guard let exact = T(exactly: number) else {
                throw JSONCodingError.outOfRange(path: path, value: "\(number)", type: "\(T.self)")
            }
            return exact
        default:
            throw mismatch("integer")
        }
    }
}

private struct KeyedNodeDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: JSONObject
    let codingPath: [any CodingKey]
    let prefix: String

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members.contains(key.stringValue) }

    private func child(_ key: Key) throws -> NodeDecoder {
        guard let value = members[key.stringValue] else {
            throw JSONCodingError.missingKey(path: renderPath(prefix: prefix, codingPath + [key]))
        }
        return NodeDecoder(value: value, codingPath: codingPath + [key], prefix: prefix)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decode(type) }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try child(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        let key = NameKey("super")
        return NodeDecoder(value: members["super"] ?? .null, codingPath: codingPath + [key], prefix: prefix)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        NodeDecoder(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key], prefix: prefix)
    }
}

private struct UnkeyedNodeDecoder: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    let prefix: String
    private(set) var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey], prefix: String) {
        self.elements = elements
        self.codingPath = codingPath
        self.prefix = prefix
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// The decoder for the next element; advances only once decoding it succeeded.
    private mutating func next<T>(_ body: (NodeDecoder) throws -> T) throws -> T {
        let path = codingPath + [IndexKey(currentIndex)]
        guard !isAtEnd else {
            throw JSONCodingError.invalidValue(
                path: renderPath(prefix: prefix, path), reason: "array has only \(elements.count) elements")
        }
        let result = try body(NodeDecoder(value: elements[currentIndex], codingPath: path, prefix: prefix))
        currentIndex += 1
        return result
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next { try $0.decode(type) } }
    mutating func decode(_ type: String.Type) throws -> String { try next { try $0.decode(type) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next { try $0.decode(type) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next { try $0.decode(type) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next { try $0.decode(type) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next { try $0.decode(type) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next { try $0.decode(type) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next { try $0.decode(type) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next { try $0.decode(type) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next { try $0.decode(type) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next { try $0.decode(type) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next { try $0.decode(type) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next { try $0.decode(type) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next { try $0.decode(type) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next { try $0.decode(type) } }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try next { try $0.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next { try $0.unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try next { $0 }
    }
}
