/// What went wrong while splitting a byte stream into `Content-Length` framed messages.
public enum MessageFramingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The header announced a body larger than the limit; the body was skipped unread.
    case messageTooLarge(length: Int, limit: Int)
    /// The header block could not be understood; the reader goes on at the next `Content-Length:`.
    case malformedHeader(reason: String, header: String)
    /// No end of the header block (`\r\n\r\n`) within the limit; the reader goes on at the next
    /// `Content-Length:`.
    case headerTooLarge(limit: Int)

    public var description: String {
        switch self {
        case .messageTooLarge(let length, let limit):
            return "message of \(length) bytes exceeds the limit of \(limit) bytes; skipped"
        case .malformedHeader(let reason, let header):
            return "malformed message header (\(reason)): \(header)"
        case .headerTooLarge(let limit):
            return "message header longer than \(limit) bytes without an empty line ending it"
        }
    }
}

/// An incremental reader of `Content-Length: N\r\n[Content-Type: ...\r\n]\r\n<N bytes>` frames.
///
/// Feed it chunks exactly as they come off the stream; it returns every message (or error) that
/// the chunk completed. Header names are case-insensitive, unknown headers are ignored, blank
/// lines between messages are tolerated.
///
/// After a broken frame the reader resynchronizes at the next `Content-Length:` rather than at
/// the next blank line: a wrong length puts the stream out of step with the sender, and every
/// later header block would then start inside a body. A header whose own length is unusable
/// (not a number, missing, given twice with different values, header too long) is not trusted
/// to say where its body ends, so the reader scans for the next `Content-Length:`. A block that
/// is junk followed by a header (the rest of a body whose length was too short or missing, stray
/// bytes, an LF-only header before a good one) restarts at the `Content-Length:` inside it; when
/// the body before ran too long and swallowed the start of that header, its last bytes are
/// searched too.
public struct MessageFramer: Sendable {
    /// The default cap on a message body: 64 MiB.
    public static let defaultMaximumMessageSize = 64 << 20
    /// The default cap on a header block: 16 KiB.
    public static let defaultMaximumHeaderSize = 16 << 10

    /// Bodies larger than this are reported and skipped without being buffered.
    public let maximumMessageSize: Int
    /// Header blocks larger than this are reported and skipped.
    public let maximumHeaderSize: Int

    private enum State {
        case header
        /// Discarding bytes until `Content-Length:`; `matched` is how much of it the last bytes spell.
        case resynchronizing(matched: Int)
        case body(remaining: Int)
        case skippingBody(remaining: Int)
    }

    /// `content-length:`, the header every frame has: where reading restarts after an error.
    private static let lengthHeader = Array("content-length:".utf8)

    private var state = State.header
    private var header: [UInt8] = []
    private var body: [UInt8] = []
    // How much of "\r\n\r\n" the bytes seen so far end with (0...3).
    private var terminatorMatch = 0
    // The last bytes of the body just read, kept until the next header block ends: a body that
    // ran too long ends with the start of the next header (shorter than `lengthHeader`, so it
    // never holds a whole one).
    private var bodyTail: [UInt8] = []

    /// A reader with the given limits.
    public init(
        maximumMessageSize: Int = MessageFramer.defaultMaximumMessageSize,
        maximumHeaderSize: Int = MessageFramer.defaultMaximumHeaderSize
    ) {
        self.maximumMessageSize = maximumMessageSize
        self.maximumHeaderSize = maximumHeaderSize
    }

    /// Whether no partial header or body is buffered (a clean place for the stream to end).
    public var isIdle: Bool {
        if case .header = state { return header.isEmpty }
        return false
    }

    /// Consumes `chunk` and returns the bodies (or errors) it completed, in stream order.
    public mutating func feed(_ chunk: [UInt8]) -> [Result<[UInt8], MessageFramingError>] {
        chunk.withUnsafeBytes { feed($0) }
    }

    /// Consumes `chunk` and returns the bodies (or errors) it completed, in stream order.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [Result<[UInt8], MessageFramingError>] {
        var output: [Result<[UInt8], MessageFramingError>] = []
        var index = 0
        while index < chunk.count {
            switch state {
            case .header:
                let byte = chunk[index]
                index += 1
                scanHeaderByte(byte, into: &output)
            case .resynchronizing(let matched):
                let byte = chunk[index]
                index += 1
                resynchronize(byte, matched: matched)
            case .body(let remaining):
                let take = min(remaining, chunk.count - index)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[index..<index + take]))
                index += take
                if take == remaining {
                    output.append(.success(body))
                    bodyTail = Array(body.suffix(Self.lengthHeader.count - 1))
                    body = []
                    state = .header
                } else {
                    state = .body(remaining: remaining - take)
                }
            case .skippingBody(let remaining):
                let take = min(remaining, chunk.count - index)
                index += take
                state = take == remaining ? .header : .skippingBody(remaining: remaining - take)
            }
        }
        return output
    }

    /// Frames `body` for writing: `Content-Length: N\r\n\r\n` followed by the body.
    public static func frame(_ body: [UInt8]) -> [UInt8] {
        var framed = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
        framed.append(contentsOf: body)
        return framed
    }

    private mutating func scanHeaderByte(_ byte: UInt8, into output: inout [Result<[UInt8], MessageFramingError>]) {
        let expected: UInt8 = terminatorMatch % 2 == 0 ? 0x0D : 0x0A
        if byte == expected {
            terminatorMatch += 1
        } else {
            terminatorMatch = byte == 0x0D ? 1 : 0
        }
        header.append(byte)
        if terminatorMatch == 4 {
            terminatorMatch = 0
            let block = Array(header.dropLast(4))
            header = []
            finishHeader(block, into: &output)
        } else if header.count > maximumHeaderSize {
            header = []
            terminatorMatch = 0
            bodyTail = []
            state = .resynchronizing(matched: 0)
            output.append(.failure(.headerTooLarge(limit: maximumHeaderSize)))
        }
    }

    /// One byte while looking for `Content-Length:`; on finding it, that is the start of the next header.
    private mutating func resynchronize(_ byte: UInt8, matched: Int) {
        let lowered = Self.lowercased(byte)
        var matched = matched
        if lowered == Self.lengthHeader[matched] {
            matched += 1
        } else {
            // No proper prefix of "content-length:" is also its suffix, so a mismatch can only
            // restart the match at this byte.
            matched = lowered == Self.lengthHeader[0] ? 1 : 0
        }
        if matched == Self.lengthHeader.count {
            header = Self.lengthHeader
            terminatorMatch = 0
            state = .header
        } else {
            state = .resynchronizing(matched: matched)
        }
    }

    private mutating func finishHeader(_ block: [UInt8], into output: inout [Result<[UInt8], MessageFramingError>]) {
        let tail = bodyTail
        bodyTail = []
        switch Self.parseHeader(block[...]) {
        case .empty:
            break  // stray blank lines between messages
        case .length(let length):
            startBody(length: length, into: &output)
        case .malformed(let reason):
            output.append(.failure(.malformedHeader(reason: reason, header: Self.printable(block[...]))))
            // Try each later Content-Length in the block (and the body's tail) until one parses.
            var candidate = tail + block
            var searchFrom = Self.restartPoint(in: candidate, tailCount: tail.count)
            while let start = searchFrom {
                candidate = Array(candidate[start...])
                if case .length(let length) = Self.parseHeader(candidate[...]) {
                    return startBody(length: length, into: &output)
                }
                searchFrom = Self.restartPoint(in: candidate, tailCount: 0)
            }
            state = .resynchronizing(matched: 0)
        }
    }

    private mutating func startBody(length: Int, into output: inout [Result<[UInt8], MessageFramingError>]) {
        if length > maximumMessageSize {
            output.append(.failure(.messageTooLarge(length: length, limit: maximumMessageSize)))
            state = .skippingBody(remaining: length)
        } else if length == 0 {
            output.append(.success([]))
        } else {
            body.reserveCapacity(min(length, 1 << 20))
            state = .body(remaining: length)
        }
    }

    /// Where in `candidate` (the `tailCount` last bytes of the previous body, then a malformed
    /// header block) a header may start again: a `Content-Length:` that begins in the tail (the
    /// body ran into this header), or one after the block's start. When the block itself starts
    /// like a header line (`Name: value`), it is a header with a bad length, and its own
    /// `Content-Length` lines (at the start of a line) are part of it, not a new frame.
    private static func restartPoint(in candidate: [UInt8], tailCount: Int) -> Int? {
        let pattern = lengthHeader
        guard candidate.count >= pattern.count else { return nil }
        let block = candidate[tailCount...]
        let headerLike = startsWithHeaderLine(block)
        for start in 0...(candidate.count - pattern.count) {
            guard start != tailCount else { continue }
            let atLineStart = start >= 2 && candidate[start - 2] == 0x0D && candidate[start - 1] == 0x0A
            if start > tailCount && headerLike && atLineStart { continue }
            if zip(candidate[start...], pattern).allSatisfy({ lowercased($0) == $1 }) { return start }
        }
        return nil
    }

    /// Whether `block` begins with `token:` as a header line does.
    private static func startsWithHeaderLine(_ block: ArraySlice<UInt8>) -> Bool {
        guard let colon = block.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let name = block[block.startIndex..<colon]
        return !name.isEmpty && name.allSatisfy(isTokenByte)
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    private enum HeaderOutcome {
        case empty
        case length(Int)
        case malformed(reason: String)
    }

    private static func parseHeader(_ block: ArraySlice<UInt8>) -> HeaderOutcome {
        var length: Int?
        var problem: String?
        var sawLine = false
        for line in lines(of: block) where !line.isEmpty {
            sawLine = true
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                problem = problem ?? "line without ':'"
                continue
            }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
                problem = problem ?? "invalid header name"
                continue
            }
            let value = trimmed(line[(colon + 1)...])
            switch String(decoding: name, as: UTF8.self).lowercased() {
            case "content-length":
                guard let parsed = decimal(value) else {
                    problem = problem ?? "Content-Length is not a decimal number"
                    continue
                }
                if let length, length != parsed { problem = problem ?? "conflicting Content-Length headers" }
                length = parsed
            default:
                continue  // Content-Type and anything unknown carry nothing we act on
            }
        }
        if !sawLine { return .empty }
        if let problem { return .malformed(reason: problem) }
        guard let length else { return .malformed(reason: "no Content-Length") }
        return .length(length)
    }

    /// Splits on CRLF; a bare CR or LF stays inside its line (and makes a malformed value).
    private static func lines(of block: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var start = block.startIndex
        var index = block.startIndex
        while index < block.endIndex {
            if block[index] == 0x0D, index + 1 < block.endIndex, block[index + 1] == 0x0A {
                result.append(block[start..<index])
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        result.append(block[start..<block.endIndex])
        return result
    }

    /// RFC 9110 token characters, the only ones a header name may use.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice.removeFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice.removeLast() }
        return slice
    }

    /// A non-negative decimal that fits Int, or nil.
    private static func decimal(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - 0x30))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }

    /// The header for an error message: control bytes escaped, cut to 120 characters.
    private static func printable(_ block: ArraySlice<UInt8>) -> String {
        var text = ""
        for byte in block.prefix(120) {
            switch byte {
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return block.count > 120 ? text + "..." : text
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
