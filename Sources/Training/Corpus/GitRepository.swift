import Foundation

/// A bare git repository read through the `git` executable: tags, trees and blobs, nothing checked out.
public struct GitRepository: Sendable {
    /// Path of the repository (a bare `NAME.git` directory or a work tree).
    public let path: String

    public init(path: String) { self.path = path }

    /// One file of a tree listing.
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var object: String
        public var size: Int
    }

    /// The highest tag in `sort -V` order (the recipe's `git tag | sort -V | tail -1`), or nil without tags.
    public func highestVersionTag() throws -> String? {
        let tags = try git(["tag"])
        guard !tags.isEmpty else { return nil }
        // Sorting by sort(1) itself keeps the recipe's exact order for odd tags ("1.0.0-beta" > "1.0.0").
        let sorted = try Self.run(executable: "sort", arguments: ["-V"], input: tags, context: path)
        return String(decoding: sorted, as: UTF8.self).split(separator: "\n").last.map(String.init)
    }

    /// Regular files (not symlinks or submodules) in the tree of `revision`, with blob ids and sizes.
    public func files(at revision: String) throws -> [Entry] {
        let output = try git(["ls-tree", "-r", "-l", "-z", revision])
        var entries: [Entry] = []
        for record in output.split(separator: 0) where !record.isEmpty {
            // "<mode> SP <type> SP <object> SP+ <size> TAB <path>"
            guard let tab = record.firstIndex(of: 0x09) else {
                throw CorpusError.gitOutput(repository: path, detail: "ls-tree record without a tab")
            }
            let fields = String(decoding: record[..<tab], as: UTF8.self).split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == 4 else {
                throw CorpusError.gitOutput(repository: path, detail: "ls-tree record with \(fields.count) fields")
            }
            guard fields[1] == "blob", fields[0] == "100644" || fields[0] == "100755", let size = Int(fields[3]) else { continue }
            entries.append(Entry(path: String(decoding: record[(tab + 1)...], as: UTF8.self),
                                 object: String(fields[2]), size: size))
        }
        return entries
    }

    /// The contents of blobs, in the order asked, through one `git cat-file --batch`.
    public func blobs(_ objects: [String]) throws -> [[UInt8]] {
        guard !objects.isEmpty else { return [] }
        let request = Data((objects.joined(separator: "\n") + "\n").utf8)
        let output = [UInt8](try git(["cat-file", "--batch"], input: request))
        var result: [[UInt8]] = []
        result.reserveCapacity(objects.count)
        var cursor = 0
        for object in objects {
            // Each answer: "<object> blob <size>\n<contents>\n".
            guard let newline = output[cursor...].firstIndex(of: 0x0A) else {
                throw CorpusError.gitOutput(repository: path, detail: "cat-file output ends before \(object)")
            }
            let header = String(decoding: output[cursor..<newline], as: UTF8.self).split(separator: " ")
            guard header.count == 3, header[0] == object, let size = Int(header[2]),
                  newline + 1 + size <= output.count else {
                throw CorpusError.gitOutput(repository: path, detail: "cat-file header '\(header.joined(separator: " "))' for \(object)")
            }
            result.append(Array(output[(newline + 1)..<(newline + 1 + size)]))
            cursor = newline + 1 + size + 1
        }
        return result
    }

    /// Runs git in the repository; `safe.directory` lets a mirror owned by another user be read.
    public func git(_ arguments: [String], input: Data? = nil) throws -> Data {
        try Self.run(executable: "git", arguments: ["-c", "safe.directory=*", "-C", path] + arguments,
                     input: input, context: path)
    }

    /// Runs a program found on PATH, feeding `input` and collecting its output; throws on a non-zero exit.
    static func run(executable: String, arguments: [String], input: Data?, context: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        do { try process.run() } catch {
            throw CorpusError.git(repository: context, arguments: [executable] + arguments, status: -1, stderr: "\(error)")
        }
        // Input, output and errors move concurrently so that no pipe fills up and blocks the child.
        let errors = DataBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errors.data = stderr.fileHandleForReading.readDataToEndOfFile() }
        if let input {
            let writer = stdin.fileHandleForWriting
            DispatchQueue.global().async(group: group) {
                writer.write(input)
                try? writer.close()
            }
        }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CorpusError.git(repository: context, arguments: [executable] + arguments,
                                  status: process.terminationStatus, stderr: String(decoding: errors.data, as: UTF8.self))
        }
        return output
    }
}

/// Holds bytes a background reader fills in before the group it runs in is waited on.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}
