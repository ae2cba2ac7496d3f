/// An ordered JSON object: keys keep their insertion order and lookup by key is O(1).
///
/// Equality ignores order, because JSON gives key order no meaning; `keys` exposes the order for
/// callers (and tests) that care about it.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The keys in insertion order.
    public private(set) var keys: [String] = []
    /// The values, parallel to `keys`.
    public private(set) var values: [JSONValue] = []
    // Position of each key in `keys`/`values`; kept in step with them by every mutation.
    private var positions: [String: Int] = [:]

    /// An empty object.
    public init() {}

    /// An object from key/value pairs; a repeated key keeps its first position and its last value.
    public init<S: Sequence>(_ pairs: S) where S.Element == (String, JSONValue) {
        for (key, value) in pairs { self[key] = value }
    }

    /// An object from a dictionary literal, in the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }

    /// The number of members.
    public var count: Int { keys.count }

    /// Whether the object has no members.
    public var isEmpty: Bool { keys.isEmpty }

    /// The value for `key`; assigning `nil` removes the member, assigning a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let index = positions[key] else { return nil }
            return values[index]
        }
        set {
            guard let newValue else {
                removeValue(forKey: key)
                return
            }
            if let index = positions[key] {
                values[index] = newValue
            } else {
                positions[key] = keys.count
                keys.append(key)
                values.append(newValue)
            }
        }
    }

    /// Whether the object has a member named `key`.
    public func contains(_ key: String) -> Bool { positions[key] != nil }

    /// Removes the member named `key` (O(n): later members shift down) and returns its value.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let index = positions.removeValue(forKey: key) else { return nil }
        keys.remove(at: index)
        let removed = values.remove(at: index)
        for shifted in index..<keys.count { positions[keys[shifted]] = shifted }
        return removed
    }

    /// Reserves room for `capacity` members, for callers that know the size up front.
    public mutating func reserveCapacity(_ capacity: Int) {
        keys.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
        positions.reserveCapacity(capacity)
    }

    /// Iterates members in insertion order.
    public func makeIterator() -> Iterator {
        Iterator(object: self)
    }

    /// Iterator over `(key, value)` pairs in insertion order.
    public struct Iterator: IteratorProtocol {
        fileprivate let object: JSONObject
        fileprivate var index = 0

        public mutating func next() -> (key: String, value: JSONValue)? {
            guard index < object.keys.count else { return nil }
            defer { index += 1 }
            return (key: object.keys[index], value: object.values[index])
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in zip(lhs.keys, lhs.values) where rhs[key] != value { return false }
        return true
    }
}
