/// An ordered JSON object: keys keep their insertion order and lookup by key is O(1)
/// (a scan of at most eight keys for small objects, a hash index beyond that).
///
/// Equality ignores order, because JSON gives key order no meaning; `keys` exposes the order for
/// callers (and tests) that care about it.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// The keys in insertion order.
    public private(set) var keys: [String] = []
    /// The values, parallel to `keys`.
    public private(set) var values: [JSONValue] = []
    // Position of each key in `keys`/`values`, built only once the object outgrows a linear scan
    // (most protocol objects have a handful of members, and hashing them cost more than it saved).
    private var positions: [String: Int]?
    private static let indexThreshold = 8

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
            guard let index = position(of: key) else { return nil }
            return values[index]
        }
        set {
            guard let newValue else {
                removeValue(forKey: key)
                return
            }
            if let index = position(of: key) {
                values[index] = newValue
                return
            }
            if positions != nil {
                positions![key] = keys.count
            } else if keys.count >= Self.indexThreshold {
                positions = Dictionary(uniqueKeysWithValues: zip(keys, keys.indices))
                positions![key] = keys.count
            }
            keys.append(key)
            values.append(newValue)
        }
    }

    /// Whether the object has a member named `key`.
    public func contains(_ key: String) -> Bool { position(of: key) != nil }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return keys.firstIndex(of: key)
    }

    /// Removes the member named `key` (O(n): later members shift down) and returns its value.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let index = position(of: key) else { return nil }
        keys.remove(at: index)
        let removed = values.remove(at: index)
        if positions != nil {
            positions![key] = nil
            for shifted in index..<keys.count { positions![keys[shifted]] = shifted }
        }
        return removed
    }

    /// Reserves room for `capacity` members, for callers that know the size up front.
    public mutating func reserveCapacity(_ capacity: Int) {
        keys.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
        if capacity > Self.indexThreshold && positions == nil {
            positions = Dictionary(uniqueKeysWithValues: zip(keys, keys.indices))
        }
        positions?.reserveCapacity(capacity)
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
