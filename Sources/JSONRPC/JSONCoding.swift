/// Why a value could not be encoded to or decoded from a `JSONValue`; paths read like
/// `params.position.line` or `items[2].name`.
public enum JSONCodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The JSON holds a different kind of value than the type needs.
    case typeMismatch(path: String, expected: String, found: String)
    /// A required member is absent.
    case missingKey(path: String)
    /// A number does not fit the integer or float type asked for.
    case outOfRange(path: String, value: String, type: String)
    /// The value is the right kind but not acceptable (for example an unknown enum raw value).
    case invalidValue(path: String, reason: String)
    /// The type's `encode(to:)` wrote nothing at all.
    case nothingEncoded(type: String)

    public var description: String {
        switch self {
        case .typeMismatch(let path, let expected, let found):
            return "\(Self.label(path))expected \(expected), found \(found)"
        case .missingKey(let path):
            return "\(Self.label(path))missing required key"
        case .outOfRange(let path, let value, let type):
            return "\(Self.label(path))\(value) does not fit in \(type)"
        case .invalidValue(let path, let reason):
            return "\(Self.label(path))\(reason)"
        case .nothingEncoded(let type):
            return "\(type) encoded no value"
        }
    }

    private static func label(_ path: String) -> String {
        path.isEmpty ? "" : "\(path): "
    }
}

/// The coding key of an array element; rendered as `[index]` in paths.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { return nil }
}

/// A coding key for an arbitrary object member name.
struct NameKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

/// Renders a coding path after an optional prefix: `params` + [position, line] → `params.position.line`.
func renderPath(prefix: String, _ keys: [any CodingKey]) -> String {
    var path = prefix
    for key in keys {
        if key is IndexKey {
            path += "[\(key.intValue ?? 0)]"
        } else {
            if !path.isEmpty { path += "." }
            path += key.stringValue
        }
    }
    return path
}

/// Translates the standard library's coding errors (thrown by hand-written or synthesized
/// `init(from:)`, e.g. for an unknown enum raw value) into `JSONCodingError` with a rendered path.
func translate(_ error: any Error, prefix: String) -> any Error {
    switch error {
    case let error as DecodingError:
        switch error {
        case .typeMismatch(let type, let context):
            return JSONCodingError.invalidValue(
                path: renderPath(prefix: prefix, context.codingPath),
                reason: "expected \(type): \(context.debugDescription)")
        case .valueNotFound(_, let context), .dataCorrupted(let context):
            return JSONCodingError.invalidValue(
                path: renderPath(prefix: prefix, context.codingPath), reason: context.debugDescription)
        case .keyNotFound(let key, let context):
            return JSONCodingError.missingKey(path: renderPath(prefix: prefix, context.codingPath + [key]))
        @unknown default:
            return error
        }
    case let error as EncodingError:
        switch error {
        case .invalidValue(_, let context):
            return JSONCodingError.invalidValue(
                path: renderPath(prefix: prefix, context.codingPath), reason: context.debugDescription)
        @unknown default:
            return error
        }
    default:
        return error
    }
}

// MARK: - JSONValue is itself Codable, so typed shapes can carry free-form members (LSPAny).

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        if let direct = decoder as? JSONValueDecoding {
            self = direct.value
            return
        }
        if var array = try? decoder.unkeyedContainer() {
            var elements: [JSONValue] = []
            while !array.isAtEnd { elements.append(try array.decode(JSONValue.self)) }
            self = .array(elements)
        } else if let object = try? decoder.container(keyedBy: NameKey.self) {
            var members = JSONObject()
            for key in object.allKeys { members[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(members)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() {
                self = .null
            } else if let value = try? single.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? single.decode(Int64.self) {
                self = .int(value)
            } else if let value = try? single.decode(Double.self) {
                self = .double(value)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .bool(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .int(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .double(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .string(let value):
            var single = encoder.singleValueContainer()
            try single.encode(value)
        case .array(let elements):
            var array = encoder.unkeyedContainer()
            for element in elements { try array.encode(element) }
        case .object(let members):
            var object = encoder.container(keyedBy: NameKey.self)
            for (key, value) in members { try object.encode(value, forKey: NameKey(key)) }
        }
    }
}
