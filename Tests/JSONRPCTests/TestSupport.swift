import Model
import Testing

#if canImport(Glibc)
import Glibc
#endif

@testable import JSONRPC

/// A small deterministic generator so randomized tests replay exactly.
typealias SeededGenerator = SplitMix64

/// The process's resident set size in bytes, from /proc/self/statm (Linux).
func residentBytes() -> Int {
    let fd = open("/proc/self/statm", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return 0 }
    let fields = buffer[0..<count].split(separator: UInt8(ascii: " "))
    guard fields.count > 1, let pages = Int(String(decoding: fields[1], as: UTF8.self)) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The UTF-8 bytes of a string literal.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Parses text that the test knows is valid.
func parse(_ text: String) throws -> JSONValue { try JSONValue(parsing: bytes(text)) }

/// The serialized text of a value.
func text(_ value: JSONValue) -> String { String(decoding: value.serialized(), as: UTF8.self) }

/// The parse error for text the test expects to be rejected (nil if it was accepted).
func parseError(_ input: [UInt8], maximumDepth: Int = JSONValue.defaultMaximumDepth) -> JSONParseError? {
    do {
        _ = try JSONValue(parsing: input, maximumDepth: maximumDepth)
        return nil
    } catch {
        return error
    }
}

/// The root of every suite in this target. Serialized so that the memory checks (resident-size
/// growth over 100k loops, over the fuzz run, while skipping a 200 MiB body) are not blurred by
/// other tests allocating at the same time.
@Suite(.serialized) enum JSONRPCModuleTests {}
