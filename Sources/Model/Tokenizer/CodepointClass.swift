/// How llama.cpp's GPT-2 pre-tokenizer regex sees one code point (or one invalid byte).
///
/// llama.cpp classifies code points with tables generated from Unicode 15.1 by Python's `regex`
/// module: \p{L} is a letter, \p{N} a number, `\s` the Unicode White_Space set, and every other
/// code point (marks, punctuation, symbols, controls, unassigned) falls into "other".
enum CodepointClass: UInt8 {
    case letter = 1
    case number = 2
    case whitespace = 3
    case other = 4
    /// A byte that does not start a well-formed UTF-8 sequence; it always stands alone.
    case invalidByte = 5

    /// llama.cpp's tables know code points up to this Unicode version; younger ones count as unassigned.
    static let unicodeVersion = (major: 15, minor: 1)

    /// Classes of the 128 ASCII code points, the hot path for source code.
    static let ascii: [CodepointClass] = (0..<128).map { value in
        switch UInt8(value) {
        case 0x09...0x0D, 0x20: return .whitespace
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return .letter
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: return .other
        }
    }

    /// Classifies one code point the way llama.cpp's flag table does.
    static func of(_ value: UInt32) -> CodepointClass {
        if value < 128 { return ascii[Int(value)] }
        switch value {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return .whitespace
        default:
            break
        }
        guard let scalar = Unicode.Scalar(value) else { return .other }
        let properties = scalar.properties
        // A code point assigned after llama.cpp's table was generated is "unassigned" there.
        guard let age = properties.age,
              age.major < unicodeVersion.major
                || (age.major == unicodeVersion.major && age.minor <= unicodeVersion.minor) else {
            return .other
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}

extension CodepointClass {
    /// Whether llama.cpp counts a code point as punctuation (\p{P}: Unicode categories P*, so ASCII
    /// `$+<=>^`|~` are symbols), with its Unicode 15.1 table.
    static func isPunctuation(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value) else { return false }
        let properties = scalar.properties
        guard let age = properties.age,
              age.major < unicodeVersion.major
                || (age.major == unicodeVersion.major && age.minor <= unicodeVersion.minor) else {
            return false
        }
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}

/// Strict UTF-8 decoding of one code point: no overlong forms, no surrogates, nothing past U+10FFFF.
enum UTF8Scalar {
    /// Decodes the code point starting at `index`; nil when the bytes there are not well-formed.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> (value: UInt32, length: Int)? {
        let lead = bytes[index]
        let count = bytes.count
        @inline(__always) func continuation(_ offset: Int) -> UInt32? {
            guard index + offset < count else { return nil }
            let byte = bytes[index + offset]
            return byte & 0xC0 == 0x80 ? UInt32(byte & 0x3F) : nil
        }
        switch lead {
        case 0x00...0x7F:
            return (UInt32(lead), 1)
        case 0xC2...0xDF:
            guard let b1 = continuation(1) else { return nil }
            return ((UInt32(lead & 0x1F) << 6) | b1, 2)
        case 0xE0...0xEF:
            guard let b1 = continuation(1), let b2 = continuation(2) else { return nil }
            let value = (UInt32(lead & 0x0F) << 12) | (b1 << 6) | b2
            guard value >= 0x800, !(0xD800...0xDFFF).contains(value) else { return nil }
            return (value, 3)
        case 0xF0...0xF4:
            guard let b1 = continuation(1), let b2 = continuation(2), let b3 = continuation(3) else { return nil }
            let value = (UInt32(lead & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3
            guard (0x10000...0x10FFFF).contains(value) else { return nil }
            return (value, 4)
        default:
            return nil
        }
    }
}
