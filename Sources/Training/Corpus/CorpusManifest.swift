import Foundation

/// What `understudy corpus` wrote: every kept file with its origin, and totals per split and language.
public struct CorpusManifest: Codable, Sendable, Equatable {
    /// One kept file.
    public struct File: Codable, Sendable, Equatable {
        /// Path relative to the corpus directory, e.g. "train/swift/apple/swift-nio/Sources/NIO/Channel.swift".
        public var path: String
        public var bytes: Int
        public var language: SourceLanguage
        public var split: CorpusSplit
        /// Where it came from: "owner/name@tag", "python-stdlib@python3.11" or "dir:/absolute/path".
        public var source: String
    }

    /// File and byte counts of one split and language.
    public struct Total: Codable, Sendable, Equatable {
        public var files = 0
        public var bytes = 0
    }

    public var files: [File] = []
    /// Files seen but not kept, by reason ("duplicate", "larger than 204800 bytes", ...).
    public var skipped: [String: Int] = [:]
    /// Sources read, with the revision used ("apple/swift-nio@2.101.3").
    public var sources: [String] = []

    public init() {}

    /// Totals keyed "split/language", e.g. "dev/swift".
    public var totals: [String: Total] {
        var result: [String: Total] = [:]
        for file in files {
            let key = "\(file.split.rawValue)/\(file.language.rawValue)"
            result[key, default: Total()].files += 1
            result[key, default: Total()].bytes += file.bytes
        }
        return result
    }

    /// A few lines for people: files and MB per split and language, and why files were skipped.
    public var summary: String {
        var lines: [String] = []
        for (key, total) in totals.sorted(by: { $0.key < $1.key }) {
            let mb = Double(total.bytes) / 1_048_576
            lines.append("\(key.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(format: "%6d", total.files)) files \(String(format: "%8.2f", mb)) MB")
        }
        for (reason, count) in skipped.sorted(by: { $0.key < $1.key }) {
            lines.append("skipped: \(reason): \(count)")
        }
        return lines.joined(separator: "\n")
    }

    /// Writes the manifest as pretty JSON.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw CorpusError.unwritable(path: path, detail: "could not create the file")
        }
    }

    /// Reads a manifest written by `write(to:)`.
    public static func read(from path: String) throws -> CorpusManifest {
        guard let data = FileManager.default.contents(atPath: path) else { throw CorpusError.unreadable(path: path) }
        return try JSONDecoder().decode(CorpusManifest.self, from: data)
    }
}
