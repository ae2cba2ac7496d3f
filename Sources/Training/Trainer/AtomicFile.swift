import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file writes that never leave a torn file: write a temporary file beside the target, fsync it,
/// rename it over the target, then fsync the directory so the rename itself is durable.
public enum AtomicFile {
    /// Writes `chunks` one after another as the file `path`.
    public static func write(chunks: [UnsafeRawBufferPointer], to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw TrainerError.io(path: temporary, operation: "open", errno: errno) }
        var failed: TrainerError?
        outer: for chunk in chunks {
            var done = 0
            while done < chunk.count {
                let n = Glibc.write(fd, chunk.baseAddress! + done, chunk.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = .io(path: temporary, operation: "write", errno: errno)
                    break outer
                }
                done += n
            }
        }
        if failed == nil && fsync(fd) != 0 { failed = .io(path: temporary, operation: "fsync", errno: errno) }
        close(fd)
        if let failed {
            unlink(temporary)
            throw failed
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw TrainerError.io(path: path, operation: "rename", errno: code)
        }
        let directory = (path as NSString).deletingLastPathComponent
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Writes `bytes` as the file `path`.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        try bytes.withUnsafeBytes { try write(chunks: [$0], to: path) }
    }
}
