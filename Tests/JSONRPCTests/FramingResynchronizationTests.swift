import Testing

@testable import JSONRPC

/// The broken frames a new user's fuzzing found (issue 15, item 9): each used to leave the reader
/// out of step, so that every later message was answered -32700 until a bare blank line came.
enum BrokenFrame: CaseIterable {
    case lengthShortByOne, lengthLongByTen, lengthZero, lengthMinusOne, lengthNotANumber, lengthTwoToThe64
    case lengthMissing, noHeaderAtAll, lengthGivenTwice, lengthGivenTwiceAlike, lineFeedOnlyHeader
    case nulBytesBeforeFrame, seventyKilobyteHeaderLine, seventyKilobytesOfJunk

    /// A request whose frame is broken (46 bytes, as in the issue's reproducer).
    static let brokenBody = Array(#"{"jsonrpc":"2.0","id":99,"method":"broken/1"}"#.utf8)

    /// The bytes of the broken frame around `brokenBody`.
    var bytes: [UInt8] {
        let body = Self.brokenBody
        func header(_ text: String) -> [UInt8] { Array(text.utf8) }
        switch self {
        case .lengthShortByOne: return header("Content-Length: \(body.count - 1)\r\n\r\n") + body
        case .lengthLongByTen: return header("Content-Length: \(body.count + 10)\r\n\r\n") + body
        case .lengthZero: return header("Content-Length: 0\r\n\r\n") + body
        case .lengthMinusOne: return header("Content-Length: -1\r\n\r\n") + body
        case .lengthNotANumber: return header("Content-Length: abc\r\n\r\n") + body
        case .lengthTwoToThe64: return header("Content-Length: 18446744073709551616\r\n\r\n") + body
        case .lengthMissing: return header("Content-Type: application/vscode-jsonrpc\r\n\r\n") + body
        case .noHeaderAtAll: return body
        case .lengthGivenTwice: return header("Content-Length: \(body.count)\r\nContent-Length: \(body.count + 1)\r\n\r\n") + body
        case .lengthGivenTwiceAlike: return header("Content-Length: \(body.count)\r\nContent-Length: \(body.count)\r\n\r\n") + body
        case .lineFeedOnlyHeader: return header("Content-Length: \(body.count)\n\n") + body
        case .nulBytesBeforeFrame: return [0, 0, 0, 0] + header("Content-Length: \(body.count)\r\n\r\n") + body
        case .seventyKilobyteHeaderLine:
            return header("Content-Length: \(body.count)\r\nX-Padding: ") + [UInt8](repeating: 0x61, count: 70 << 10)
                + header("\r\n\r\n") + body
        case .seventyKilobytesOfJunk:
            return [UInt8](repeating: 0x61, count: 70 << 10) + header("Content-Length: \(body.count)\r\n\r\n") + body
        }
    }
}

extension JSONRPCModuleTests {
    @Suite struct FramingResynchronizationTests {
        private static func request(_ id: Int) -> [UInt8] {
            Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"good"}"#.utf8)
        }

        /// Feeds a good request, the broken frame, then three good requests, in `chunkSize` pieces.
        private static func events(after broken: BrokenFrame, chunkSize: Int) -> [Result<[UInt8], MessageFramingError>] {
            let stream = MessageFramer.frame(request(1)) + broken.bytes
                + [2, 3, 4].flatMap { MessageFramer.frame(request($0)) }
            var framer = MessageFramer()
            return stride(from: 0, to: stream.count, by: chunkSize).flatMap { start in
                framer.feed(Array(stream[start..<min(start + chunkSize, stream.count)]))
            }
        }

        @Test(arguments: BrokenFrame.allCases)
        func threeGoodRequestsAfterABrokenFrameAreRead(_ broken: BrokenFrame) {
            for chunkSize in [1, 7, 64 << 10] {
                let events = Self.events(after: broken, chunkSize: chunkSize)
                let good = [1, 2, 3, 4].map { Result<[UInt8], MessageFramingError>.success(Self.request($0)) }
                // The good request before it, the three after it, and between them one or two
                // reports of the broken frame (an error, or the body it cut wrongly).
                #expect(events.first == good[0], "\(broken), chunks of \(chunkSize)")
                #expect(Array(events.suffix(3)) == Array(good[1...]), "\(broken), chunks of \(chunkSize): \(events)")
                let between = Array(events.dropFirst().dropLast(3))
                switch broken {
                case .lengthGivenTwiceAlike:
                    #expect(between == [.success(BrokenFrame.brokenBody)], "two equal lengths are one length")
                case .nulBytesBeforeFrame, .seventyKilobytesOfJunk:
                    // The junk is reported; the intact frame after it is read.
                    #expect(between.count == 2 && between.last == .success(BrokenFrame.brokenBody), "\(broken): \(between)")
                    if case .success = between.first { Issue.record("\(broken): junk not reported") }
                default:
                    #expect((1...2).contains(between.count), "\(broken), chunks of \(chunkSize): \(events)")
                    #expect(!between.contains(.success(BrokenFrame.brokenBody)), "\(broken): read as if it were intact")
                }
            }
        }

        @Test func aBodyInsideJunkThatMentionsContentLengthDoesNotDerailTheReader() {
            // A frame without a header whose text names the header (a document about HTTP).
            let unframed = Array(#"{"text":"Content-Length: 5"}"#.utf8)
            var framer = MessageFramer()
            let events = framer.feed(unframed + MessageFramer.frame(Self.request(2)) + MessageFramer.frame(Self.request(3)))
            #expect(Array(events.suffix(2)) == [.success(Self.request(2)), .success(Self.request(3))], "\(events)")
            #expect(events.dropLast(2).allSatisfy { if case .failure = $0 { true } else { false } }, "\(events)")
        }
    }
}
