import CJSONC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a byte sequence is not acceptable JSON; offsets are byte offsets into the input.
public enum JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text breaks the JSON grammar; `reason` is json-c's description.
    case syntax(offset: Int, reason: String)
    /// The input ended inside a value (or held no value at all).
    case unexpectedEnd(offset: Int)
    /// Arrays/objects are nested deeper than the limit.
    case tooDeep(offset: Int, limit: Int)
    /// The bytes are not valid UTF-8.
    case invalidUTF8(offset: Int)
    /// A complete value is followed by something other than whitespace.
    case trailingCharacters(offset: Int)
    /// A number that a JSON value here cannot hold: an integer outside Int64, a float that
    /// overflows Double, or a NaN/Infinity literal.
    case numberOutOfRange(offset: Int, text: String)
    /// The input is larger than json-c can take in one call (2 GiB).
    case inputTooLarge(size: Int)

    public var description: String {
        switch self {
        case .syntax(let offset, let reason): return "invalid JSON at byte \(offset): \(reason)"
        case .unexpectedEnd(let offset): return "invalid JSON: input ends at byte \(offset) before the value is complete"
        case .tooDeep(let offset, let limit): return "invalid JSON at byte \(offset): nesting deeper than \(limit) levels"
        case .invalidUTF8(let offset): return "invalid JSON: malformed UTF-8 at byte \(offset)"
        case .trailingCharacters(let offset): return "invalid JSON: unexpected data after the value at byte \(offset)"
        case .numberOutOfRange(let offset, let text):
            return "invalid JSON at byte \(offset): number \(text) does not fit (integers must fit Int64, floats must be finite)"
        case .inputTooLarge(let size): return "JSON input of \(size) bytes is larger than the 2 GiB json-c accepts"
        }
    }
}

extension JSONValue {
    /// The nesting limit used when none is given; LSP payloads stay far below it.
    public static let defaultMaximumDepth = 64

    /// Parses UTF-8 JSON text through json-c (strict grammar, UTF-8 validated, nesting limited).
    ///
    /// Deliberate choices, all covered by tests:
    /// - Integers outside Int64 are rejected (`numberOutOfRange`) rather than rounded or clamped:
    ///   json-c silently clamps them, and a clamped request id would be answered under the wrong id.
    /// - NaN/Infinity literals and floats that overflow Double are rejected the same way.
    /// - A lone surrogate escape (`"\ud800"`) becomes U+FFFD, as json-c decodes it; rejecting the
    ///   whole message over one unpaired half would be harsher than any editor needs.
    /// - UTF-8 that json-c lets through but is not Unicode (encoded surrogates) is `invalidUTF8`.
    /// - A repeated key keeps its first position and its last value.
    /// - Object keys are C strings inside json-c, so a key containing U+0000 is cut at it.
    ///   String values keep U+0000 intact.
    /// - json-c's strict mode still accepts single-quoted keys (`{'a':1}`), raw control characters
    ///   inside strings, `1.` and leading zeros (`-01`, `00`); each has one obvious meaning, so we
    ///   accept them rather than run a second validating pass over every message.
    public init(parsing bytes: [UInt8], maximumDepth: Int = JSONValue.defaultMaximumDepth) throws(JSONParseError) {
        precondition(maximumDepth >= 1, "maximumDepth must be at least 1")
        guard bytes.count < Int(Int32.max) else { throw .inputTooLarge(size: bytes.count) }
        guard let tokener = json_tokener_new_ex(Int32(clamping: maximumDepth)) else {
            fatalError("json-c could not allocate a tokener")
        }
        defer { json_tokener_free(tokener) }
        json_tokener_set_flags(
            tokener, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8)

        let root = try Self.tokenize(bytes, with: tokener, maximumDepth: maximumDepth)
        defer { json_object_put(root) }
        let converter = JSONCConverter(input: bytes)
        self = try converter.value(of: root)
    }

    /// Parses JSON text held in a Swift string.
    public init(parsing text: String, maximumDepth: Int = JSONValue.defaultMaximumDepth) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8), maximumDepth: maximumDepth)
    }

    /// Runs json-c over the whole input and returns the root object (nil is JSON null).
    private static func tokenize(
        _ bytes: [UInt8], with tokener: UnsafeMutablePointer<json_tokener>, maximumDepth: Int
    ) throws(JSONParseError) -> OpaquePointer? {
        guard !bytes.isEmpty else { throw .unexpectedEnd(offset: 0) }
        let root = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                json_tokener_parse_ex(tokener, chars.baseAddress!, Int32(chars.count))
            }
        }
        var status = json_tokener_get_error(tokener)
        if status == json_tokener_success {
            let end = json_tokener_get_parse_end(tokener)
            if let extra = bytes[end...].firstIndex(where: { !isJSONWhitespace($0) }) {
                json_object_put(root)
                throw .trailingCharacters(offset: extra)
            }
            return root
        }
        guard status == json_tokener_continue else {
            throw error(for: status, offset: json_tokener_get_parse_end(tokener), maximumDepth: maximumDepth)
        }
        // json-c cannot tell that a top-level number has ended until it sees a delimiter, so it
        // asks for more input; one space finishes such a value and changes nothing else.
        let finished = json_tokener_parse_ex(tokener, " ", 1)
        status = json_tokener_get_error(tokener)
        if status == json_tokener_success { return finished }
        if status == json_tokener_continue { throw .unexpectedEnd(offset: bytes.count) }
        throw error(for: status, offset: bytes.count, maximumDepth: maximumDepth)
    }

    private static func error(for status: json_tokener_error, offset: Int, maximumDepth: Int) -> JSONParseError {
        switch status {
        case json_tokener_error_depth: return .tooDeep(offset: offset, limit: maximumDepth)
        case json_tokener_error_parse_utf8_string: return .invalidUTF8(offset: offset)
        case json_tokener_error_parse_eof: return .unexpectedEnd(offset: offset)
        default: return .syntax(offset: offset, reason: String(cString: json_tokener_error_desc(status)))
        }
    }
}

/// JSON's four whitespace bytes (space, tab, line feed, carriage return).
func isJSONWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
}

/// Turns a json-c object tree into a `JSONValue`, checking what json-c lets through.
private struct JSONCConverter {
    let input: [UInt8]

    func value(of object: OpaquePointer?) throws(JSONParseError) -> JSONValue {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null:
            return .null
        case json_type_boolean:
            return .bool(json_object_get_boolean(object) != 0)
        case json_type_int:
            let value = json_object_get_int64(object)
            // json-c clamps out-of-range integers to these limits without reporting it (values above
            // Int64.max become uint64 objects), so a limit value means: look at the text.
            let aboveInt64 = value == .max && json_object_get_uint64(object) > UInt64(Int64.max)
            if aboveInt64 || value == .min, let bad = firstUnrepresentableNumber() {
                throw .numberOutOfRange(offset: bad.offset, text: bad.text)
            }
            return .int(value)
        case json_type_double:
            let value = json_object_get_double(object)
            if !value.isFinite {
                let bad = firstUnrepresentableNumber() ?? (0, "\(value)")
                throw .numberOutOfRange(offset: bad.offset, text: bad.text)
            }
            return .double(value)
        case json_type_string:
            return .string(try string(json_object_get_string(object), length: Int(json_object_get_string_len(object))))
        case json_type_array:
            let count = json_object_array_length(object)
            var elements: [JSONValue] = []
            elements.reserveCapacity(count)
            for index in 0..<count {
                elements.append(try value(of: json_object_array_get_idx(object, index)))
            }
            return .array(elements)
        case json_type_object:
            var members = JSONObject()
            members.reserveCapacity(Int(json_object_object_length(object)))
            var cursor = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&cursor, &end) == 0 {
                let name = json_object_iter_peek_name(&cursor)
                let key = try string(name, length: name.map { strlen($0) } ?? 0)
                members[key] = try value(of: json_object_iter_peek_value(&cursor))
                json_object_iter_next(&cursor)
            }
            return .object(members)
        default:
            fatalError("json-c returned an object of unknown type \(json_object_get_type(object))")
        }
    }

    private func string(_ pointer: UnsafePointer<CChar>?, length: Int) throws(JSONParseError) -> String {
        guard let pointer, length > 0 else { return "" }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        throw .invalidUTF8(offset: firstInvalidUTF8Offset() ?? 0)
    }

    /// Where the input first stops being valid UTF-8 by Swift's (stricter than json-c's) rules.
    private func firstInvalidUTF8Offset() -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = input.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// Finds the first number token (outside strings) that does not fit Int64 or a finite Double.
    /// Only runs when json-c produced a suspicious value, so ordinary messages pay nothing for it.
    private func firstUnrepresentableNumber() -> (offset: Int, text: String)? {
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                while index < input.count, input[index] != UInt8(ascii: "\"") {
                    index += input[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                index += 1
                continue
            }
            guard isTokenByte(byte) else {
                index += 1
                continue
            }
            let start = index
            while index < input.count, isTokenByte(input[index]) { index += 1 }
            let token = String(decoding: input[start..<index], as: UTF8.self)
            if token == "true" || token == "false" || token == "null" { continue }
            let isInteger = token.utf8.allSatisfy { $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) }
            if isInteger ? Int64(token) == nil : !(Double(token)?.isFinite ?? false) {
                return (start, token)
            }
        }
        return nil
    }

    private func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }
}
