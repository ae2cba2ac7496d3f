import DefaultModelBytes
import Foundation

/// The student model that ships inside the executable (model card: models/README.md). Every
/// command that runs a model falls back to it when given none.
///
/// The bytes are compiled into the binary (DefaultModelBytes), so a copied or installed `understudy`
/// has its model. The loader maps a GGUF file (mmap), and the server and the commands name models
/// by path, so the bytes are written once to a cache file named after their hash and that path is
/// handed on: every later start finds the file and maps it like any other model.
public enum DefaultModel {
    /// The model's file name in the source tree (Sources/DefaultModel/Resources).
    public static let fileName = "understudy-default.gguf"

    /// The model file, or nil when the build had no model and no file is found beside the binary.
    public static var path: String? {
        switch location {
        case .success(let path): return path
        case .failure: return nil
        }
    }

    /// Where the model is, or why the embedded one could not be written out; computed once.
    public static let location: Result<String?, DefaultModelError> = {
        if let bytes = embeddedBytes {
            return Result { () throws(DefaultModelError) in try cachedCopy(of: bytes) }
        }
        return .success(candidates.first { FileManager.default.isReadableFile(atPath: $0) })
    }()

    /// The bytes compiled into the executable, nil when the checkout had no model file at build time.
    static var embeddedBytes: UnsafeRawBufferPointer? {
        guard let start = understudy_default_model_bytes() else { return nil }
        return UnsafeRawBufferPointer(start: start, count: understudy_default_model_size())
    }

    /// Files a build without the embedded model falls back to, most specific first: an install that
    /// puts the model beside the binary or in ../share/understudy, then the checkout it was built from.
    static var candidates: [String] {
        let executable = URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
        let binDirectory = executable.deletingLastPathComponent()
        let directories = [
            binDirectory,
            binDirectory.deletingLastPathComponent().appendingPathComponent("share/understudy"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources"),
        ]
        return directories.map { $0.appendingPathComponent(fileName).path }
    }

    /// The path of a file holding `bytes` in the user's cache directory (or the temporary directory
    /// when that is not writable), written now unless an earlier run already did.
    static func cachedCopy(of bytes: UnsafeRawBufferPointer) throws(DefaultModelError) -> String {
        let name = "understudy-default-\(String(fnv1a(bytes), radix: 16)).gguf"
        var failure: DefaultModelError?
        for directory in cacheDirectories {
            let path = directory + "/" + name
            if let size = fileSize(path), size == bytes.count { return path }
            do {
                try write(bytes, to: path)
                return path
            } catch {
                failure = failure ?? error
            }
        }
        throw failure ?? .noCacheDirectory
    }

    /// `$XDG_CACHE_HOME/understudy`, else `~/.cache/understudy`; then the temporary directory.
    static var cacheDirectories: [String] {
        let environment = ProcessInfo.processInfo.environment
        var directories: [String] = []
        if let cache = environment["XDG_CACHE_HOME"], cache.hasPrefix("/") {
            directories.append(cache + "/understudy")
        } else if let home = environment["HOME"], !home.isEmpty {
            directories.append(home + "/.cache/understudy")
        }
        directories.append(NSTemporaryDirectory() + "understudy-\(getuid())")
        return directories
    }

    /// Writes to a temporary name and renames it into place, so a reader (or a second server
    /// starting at the same moment) never maps a half-written model.
    private static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws(DefaultModelError) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(path: directory, reason: "\(error.localizedDescription)")
        }
        let temporary = path + ".\(getpid()).partial"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw .cannotWrite(path: temporary, reason: String(cString: strerror(errno)))
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .cannotWrite(path: path, reason: reason)
        }
    }

    private static func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
    }

    /// 64-bit FNV-1a: names the cache file after the model, so a binary with another model never
    /// reuses a stale copy.
    static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// Why the embedded default model could not be handed to the loader.
public enum DefaultModelError: Error, Equatable, CustomStringConvertible {
    /// Neither the cache directory nor the temporary directory took the file.
    case cannotWrite(path: String, reason: String)
    /// No directory to write the file to.
    case noCacheDirectory

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason):
            return "cannot write the embedded default model to \(path): \(reason) (set XDG_CACHE_HOME to a writable directory, or pass --model)"
        case .noCacheDirectory:
            return "no directory to write the embedded default model to (set XDG_CACHE_HOME, or pass --model)"
        }
    }
}
