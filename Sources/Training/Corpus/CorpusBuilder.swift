import Foundation

/// Collects source files by the recipe into `train/` and `dev/` trees of plain files plus `manifest.json`.
///
/// Sources are registered first and read in `build()`: held-out sources before training ones, so a file
/// that also appears in a training repository (a vendored or renamed copy) is kept only in dev and never
/// leaks into training through de-duplication order.
public struct CorpusBuilder {
    public let recipe: CorpusRecipe
    /// The corpus directory; `train/`, `dev/` and `manifest.json` inside it are replaced.
    public let output: String
    private var units: [Unit] = []

    /// A group of files read together: one repository, one stdlib package set, one directory.
    private struct Unit {
        var label: String          // output folder below split/language, e.g. "apple/swift-nio"
        var source: String         // manifest origin, e.g. "apple/swift-nio@2.101.3"
        var split: CorpusSplit
        var read: () throws -> [(path: String, contents: [UInt8])]
    }

    public init(recipe: CorpusRecipe = .standard, output: String) {
        self.recipe = recipe
        self.output = output
    }

    /// Registers every `OWNER/NAME.git` bare repository under `mirror`, read at its highest version tag (HEAD without tags).
    public mutating func addSwiftMirror(_ mirror: String) throws {
        let fm = FileManager.default
        guard let owners = try? fm.contentsOfDirectory(atPath: mirror) else { throw CorpusError.notADirectory(path: mirror) }
        for owner in owners.sorted() {
            let ownerPath = mirror + "/" + owner
            guard let names = try? fm.contentsOfDirectory(atPath: ownerPath) else { continue }
            for name in names.sorted() where name.hasSuffix(".git") {
                let repo = GitRepository(path: ownerPath + "/" + name)
                let full = owner + "/" + String(name.dropLast(4))
                let revision = try repo.highestVersionTag() ?? "HEAD"
                units.append(Unit(label: full, source: "\(full)@\(revision)", split: recipe.split(swiftRepository: full)) {
                    let entries = try repo.files(at: revision).filter { SourceLanguage(path: $0.path) == .swift }
                    return zip(entries, try repo.blobs(entries.map(\.object))).map { ($0.path, $1) }
                })
            }
        }
    }

    /// Registers the Python standard library at `root`, split by top-level package.
    public mutating func addPythonStdlib(_ root: String) throws {
        let label = "python-stdlib@" + (root.split(separator: "/").last.map(String.init) ?? "python")
        let all = try Self.sourceFiles(under: root, language: .python)
            .filter { !recipe.isExcludedStdlibPath($0) }
        for split in [CorpusSplit.dev, .train] {
            let chosen = all.filter { recipe.split(pythonStdlibPath: $0) == split }
            units.append(Unit(label: "stdlib", source: label, split: split) {
                try chosen.map { ($0, try Self.read(root + "/" + $0)) }
            })
        }
    }

    /// Registers a directory of the user's own code (Swift and Python files); it goes to training.
    public mutating func addDirectory(_ root: String, split: CorpusSplit = .train) throws {
        let absolute = URL(fileURLWithPath: root).standardizedFileURL.path
        var files: [String] = []
        for language in SourceLanguage.allCases { files += try Self.sourceFiles(under: absolute, language: language) }
        let name = absolute.split(separator: "/").last.map(String.init) ?? "dir"
        units.append(Unit(label: "dir-" + name, source: "dir:" + absolute, split: split) {
            try files.sorted().map { ($0, try Self.read(absolute + "/" + $0)) }
        })
    }

    /// Reads every registered source, filters and de-duplicates, and writes the trees and the manifest.
    public func build(progress: (String) -> Void = { _ in }) throws -> CorpusManifest {
        let fm = FileManager.default
        for part in ["train", "dev", "manifest.json"] { try? fm.removeItem(atPath: output + "/" + part) }
        var manifest = CorpusManifest()
        var seen = Set<ContentHash>()
        let ordered = units.filter { $0.split == .dev } + units.filter { $0.split == .train }
        for (index, unit) in ordered.enumerated() {
            manifest.sources.append(unit.source)
            var kept = 0
            for (path, contents) in try unit.read() {
                guard let language = SourceLanguage(path: path) else { continue }
                if let reason = recipe.exclusionReason(path: path, contents: contents) {
                    manifest.skipped[reason, default: 0] += 1
                    continue
                }
                guard seen.insert(ContentHash(contents)).inserted else {
                    manifest.skipped["duplicate content", default: 0] += 1
                    continue
                }
                let relative = "\(unit.split.rawValue)/\(language.rawValue)/\(unit.label)/\(path)"
                try Self.write(contents, to: output + "/" + relative)
                manifest.files.append(.init(path: relative, bytes: contents.count, language: language,
                                            split: unit.split, source: unit.source))
                kept += 1
            }
            progress("[\(index + 1)/\(ordered.count)] \(unit.split.rawValue) \(unit.source): \(kept) files")
        }
        try manifest.write(to: output + "/manifest.json")
        return manifest
    }

    /// Paths (relative to `root`, sorted) of regular files of `language` below it; hidden folders are skipped.
    public static func sourceFiles(under root: String, language: SourceLanguage) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CorpusError.notADirectory(path: root)
        }
        let base = URL(fileURLWithPath: root).standardizedFileURL
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else {
            throw CorpusError.unreadable(path: root)
        }
        var result: [String] = []
        let prefix = base.path.hasSuffix("/") ? base.path : base.path + "/"
        for case let url as URL in walker {
            guard url.pathExtension == language.fileExtension,
                  (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let path = url.standardizedFileURL.path
            guard path.hasPrefix(prefix) else { continue }
            result.append(String(path.dropFirst(prefix.count)))
        }
        return result.sorted()
    }

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CorpusError.unreadable(path: path) }
        return [UInt8](data)
    }

    static func write(_ contents: [UInt8], to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CorpusError.unwritable(path: directory, detail: "\(error)")
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(contents)) else {
            throw CorpusError.unwritable(path: path, detail: "could not create the file")
        }
    }
}

/// A 128-bit content fingerprint (two independent 64-bit hashes), enough to make collisions between
/// distinct files of a corpus practically impossible without keeping their contents in memory.
struct ContentHash: Hashable {
    let high: UInt64
    let low: UInt64

    init(_ bytes: [UInt8]) {
        var fnv: UInt64 = 0xCBF2_9CE4_8422_2325
        var poly: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
        for byte in bytes {
            fnv = (fnv ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            poly = (poly &+ UInt64(byte) &+ 1) &* 0xFF51_AFD7_ED55_8CCD
            poly ^= poly >> 29
        }
        high = fnv
        low = poly
    }
}
