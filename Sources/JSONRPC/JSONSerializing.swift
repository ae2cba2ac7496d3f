import CJSONC

extension JSONValue {
    /// Compact UTF-8 JSON text made by json-c: no whitespace, `/` left unescaped, control characters
    /// (including U+0000) as `\u00XX`, other characters as raw UTF-8.
    ///
    /// Doubles are written in Swift's shortest round-trip form (`0.1`, not json-c's `0.10000000000000001`)
    /// and always with a fraction or exponent, so `.double(1)` reads back as `.double(1)`.
    /// JSON has no NaN or Infinity: non-finite doubles are written as `null`.
    public func serialized() -> [UInt8] {
        let object = makeJSONCObject()
        defer { json_object_put(object) }
        var length = 0
        let flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE
        guard let text = json_object_to_json_string_length(object, flags, &length) else {
            fatalError("json-c could not allocate the serialized text")
        }
        // The text belongs to `object`, so copy it out before the deferred put frees it.
        return Array(UnsafeRawBufferPointer(start: text, count: length))
    }

    /// Builds a json-c object tree that the caller owns (nil stands for JSON null).
    private func makeJSONCObject() -> OpaquePointer? {
        switch self {
        case .null:
            return nil
        case .bool(let value):
            return json_object_new_boolean(value ? 1 : 0)
        case .int(let value):
            return json_object_new_int64(value)
        case .double(let value):
            guard value.isFinite else { return nil }
            return json_object_new_double_s(value, Self.numberText(value))
        case .string(var text):
            if text.isEmpty { return json_object_new_string("") }
            return text.withUTF8 { utf8 in
                precondition(utf8.count < Int(Int32.max), "JSON string longer than json-c accepts")
                return utf8.withMemoryRebound(to: CChar.self) { chars in
                    json_object_new_string_len(chars.baseAddress!, Int32(chars.count))
                }
            }
        case .array(let elements):
            let array = json_object_new_array_ext(Int32(clamping: elements.count))
            for element in elements {
                // json_object_array_add takes over the child's reference.
                json_object_array_add(array, element.makeJSONCObject())
            }
            return array
        case .object(let members):
            let object = json_object_new_object()
            for (key, value) in members {
                // Takes over the child's reference and copies the key.
                json_object_object_add(object, key, value.makeJSONCObject())
            }
            return object
        }
    }

    /// Swift's shortest round-trip spelling is valid JSON for every finite double
    /// ("1.0", "0.1", "1e-07", "-0.0", "1.7976931348623157e+308").
    private static func numberText(_ value: Double) -> String {
        value.description
    }
}
