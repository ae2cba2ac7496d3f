/// Encodes `Encodable` types to a `JSONValue`. Members keep the order in which the type encodes them;
/// optionals that are nil are left out (the synthesized `encodeIfPresent` skips them); non-finite
/// floats are an error, since JSON cannot carry them.
public struct JSONValueEncoder: Sendable {
    /// An encoder with no options.
    public init() {}

    /// Encodes `value`; `path` prefixes the coding path in errors.
    public func encode<T: Encodable>(_ value: T, path: String = "") throws -> JSONValue {
        if let direct = value as? JSONValue { return direct }
        let root = EncodedNode()
        do {
            try value.encode(to: NodeEncoder(node: root, codingPath: [], prefix: path))
        } catch let error as JSONCodingError {
            throw error
        } catch {
            throw translate(error, prefix: path)
        }
        guard let result = root.resolved() else { throw JSONCodingError.nothingEncoded(type: "\(T.self)") }
        return result
    }
}

/// A slot in the tree being built. Containers hand out references to child slots because Codable
/// lets a nested container be filled after its parent container was created.
private final class EncodedNode {
    enum Content {
        case unset
        case value(JSONValue)
        case object(keys: [String], children: [String: EncodedNode])
        case array([EncodedNode])
    }

    var content = Content.unset

    func resolved() -> JSONValue? {
        switch content {
        case .unset:
            return nil
        case .value(let value):
            return value
        case .object(let keys, let children):
            var members = JSONObject()
            members.reserveCapacity(keys.count)
            // A nested container that was opened but never written still counts as an empty object.
            for key in keys { members[key] = children[key]?.resolved() ?? .object([:]) }
            return .object(members)
        case .array(let elements):
            return .array(elements.map { $0.resolved() ?? .object([:]) })
        }
    }

    func makeObject() {
        if case .object = content { return }
        content = .object(keys: [], children: [:])
    }

    func makeArray() {
        if case .array = content { return }
        content = .array([])
    }

    /// The child slot for `key`, created (and placed last) if new.
    func child(forKey key: String) -> EncodedNode {
        makeObject()
        guard case .object(var keys, var children) = content else { preconditionFailure("not an object") }
        if let existing = children[key] { return existing }
        let node = EncodedNode()
        content = .unset  // release our copy so the arrays below are mutated in place
        keys.append(key)
        children[key] = node
        content = .object(keys: keys, children: children)
        return node
    }

    /// A new child slot appended to this array.
    func appendChild() -> EncodedNode {
        makeArray()
        guard case .array(var elements) = content else { preconditionFailure("not an array") }
        let node = EncodedNode()
        content = .unset
        elements.append(node)
        content = .array(elements)
        return node
    }

    var arrayCount: Int {
        if case .array(let elements) = content { return elements.count }
        return 0
    }
}

private struct NodeEncoder: Encoder {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    let prefix: String
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedNodeEncoder<Key>(node: node, codingPath: codingPath, prefix: prefix))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedNodeEncoder(node: node, codingPath: codingPath, prefix: prefix)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    /// Stores `value` in `node`, taking the short cut for values that already are JSON.
    static func store<T: Encodable>(
        _ value: T, in node: EncodedNode, codingPath: [any CodingKey], prefix: String
    ) throws {
        if let direct = value as? JSONValue {
            node.content = .value(direct)
        } else {
            try value.encode(to: NodeEncoder(node: node, codingPath: codingPath, prefix: prefix))
        }
    }
}

extension NodeEncoder: SingleValueEncodingContainer {
    func encodeNil() throws { node.content = .value(.null) }
    func encode(_ value: Bool) throws { node.content = .value(.bool(value)) }
    func encode(_ value: String) throws { node.content = .value(.string(value)) }
    func encode(_ value: Double) throws { node.content = .value(try finite(value)) }
    func encode(_ value: Float) throws { node.content = .value(try finite(Double(value))) }
    func encode(_ value: Int) throws { node.content = .value(.int(Int64(value))) }
    func encode(_ value: Int8) throws { node.content = .value(.int(Int64(value))) }
    func encode(_ value: Int16) throws { node.content = .value(.int(Int64(value))) }
    func encode(_ value: Int32) throws { node.content = .value(.int(Int64(value))) }
    func encode(_ value: Int64) throws { node.content = .value(.int(value)) }
    func encode(_ value: UInt) throws { node.content = .value(try unsigned(value)) }
    func encode(_ value: UInt8) throws { node.content = .value(.int(Int64(value))) }
    func encode(_ value: UInt16) throws { node.content = .value(.int(Int64(value))) }
    func encode(_ value: UInt32) throws { node.content = .value(.int(Int64(value))) }
    func encode(_ value: UInt64) throws { node.content = .value(try unsigned(value)) }

    func encode<T: Encodable>(_ value: T) throws {
        try Self.store(value, in: node, codingPath: codingPath, prefix: prefix)
    }

    private func finite(_ value: Double) throws -> JSONValue {
        guard value.isFinite else {
            throw JSONCodingError.invalidValue(
                path: renderPath(prefix: prefix, codingPath), reason: "\(value) cannot be written as JSON")
        }
        return .double(value)
    }

    private func unsigned<T: UnsignedInteger>(_ value: T) throws -> JSONValue {
        guard let exact = Int64(exactly: value) else {
            throw JSONCodingError.outOfRange(path: renderPath(prefix: prefix, codingPath), value: "\(value)", type: "Int64")
        }
        return .int(exact)
    }
}

private struct KeyedNodeEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    let prefix: String

    private func child(_ key: Key) -> NodeEncoder {
        NodeEncoder(node: node.child(forKey: key.stringValue), codingPath: codingPath + [key], prefix: prefix)
    }

    mutating func encodeNil(forKey key: Key) throws { try child(key).encodeNil() }
    mutating func encode(_ value: Bool, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: String, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: Double, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try child(key).encode(value) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try child(key).encode(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        child(key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        child(key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.child(forKey: "super"), codingPath: codingPath + [NameKey("super")], prefix: prefix)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder { child(key) }
}

private struct UnkeyedNodeEncoder: UnkeyedEncodingContainer {
    let node: EncodedNode
    let codingPath: [any CodingKey]
    let prefix: String

    var count: Int { node.arrayCount }

    private func next() -> NodeEncoder {
        let path = codingPath + [IndexKey(node.arrayCount)]
        return NodeEncoder(node: node.appendChild(), codingPath: path, prefix: prefix)
    }

    mutating func encodeNil() throws { try next().encodeNil() }
    mutating func encode(_ value: Bool) throws { try next().encode(value) }
    mutating func encode(_ value: String) throws { try next().encode(value) }
    mutating func encode(_ value: Double) throws { try next().encode(value) }
    mutating func encode(_ value: Float) throws { try next().encode(value) }
    mutating func encode(_ value: Int) throws { try next().encode(value) }
    mutating func encode(_ value: Int8) throws { try next().encode(value) }
    mutating func encode(_ value: Int16) throws { try next().encode(value) }
    mutating func encode(_ value: Int32) throws { try next().encode(value) }
    mutating func encode(_ value: Int64) throws { try next().encode(value) }
    mutating func encode(_ value: UInt) throws { try next().encode(value) }
    mutating func encode(_ value: UInt8) throws { try next().encode(value) }
    mutating func encode(_ value: UInt16) throws { try next().encode(value) }
    mutating func encode(_ value: UInt32) throws { try next().encode(value) }
    mutating func encode(_ value: UInt64) throws { try next().encode(value) }
    mutating func encode<T: Encodable>(_ value: T) throws { try next().encode(value) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        next().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        next().unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { next() }
}
