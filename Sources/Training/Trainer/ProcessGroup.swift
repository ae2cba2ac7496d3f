import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The processes of one data-parallel training job: this process alone, or the ranks that Open MPI's
/// `mpirun` started. Every rank calls the collectives in the same order; with one process they return
/// their input. Rank 0 is the one that reads and writes files (checkpoint, logs, model, teacher cache).
public final class ProcessGroup: @unchecked Sendable {
    /// 0-based rank of this process and number of processes.
    public let rank: Int
    public let size: Int
    private let mpi: OpenMPI?

    /// This process alone (no MPI).
    public static let single = ProcessGroup()

    private init() {
        rank = 0
        size = 1
        mpi = nil
    }

    private init(mpi: OpenMPI) {
        self.mpi = mpi
        rank = mpi.rank
        size = mpi.size
    }

    /// Whether this process writes the job's files.
    public var isRoot: Bool { rank == 0 }

    /// Joins the job when Open MPI's `mpirun` started this process as one of several ranks
    /// (`OMPI_COMM_WORLD_SIZE` > 1), loading libmpi at run time; otherwise this process alone, without
    /// touching MPI. Throws when launched as one of several ranks by a launcher this build cannot join.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ProcessGroup {
        if let value = environment["OMPI_COMM_WORLD_SIZE"], let ranks = Int(value), ranks > 1 {
            let group = ProcessGroup(mpi: try OpenMPI())
            guard group.size == ranks else { throw ParallelError.sizeMismatch(environment: ranks, mpi: group.size) }
            return group
        }
        // MPICH, Intel MPI and Slurm's PMI set PMI_SIZE; without this check each rank would train alone and
        // all of them would overwrite the same --out.
        if environment["OMPI_COMM_WORLD_SIZE"] == nil, let value = environment["PMI_SIZE"], let ranks = Int(value), ranks > 1 {
            throw ParallelError.unsupportedLauncher(variable: "PMI_SIZE=\(value)")
        }
        return .single
    }

    /// The shared library this group runs on ("" for a single process).
    public var library: String {
        mpi?.library ?? ""
    }

    // MARK: - Collectives

    /// Largest element count of one MPI call (MPI counts are 32-bit).
    static let chunk = 1 << 30

    /// Replaces `count` floats at `values` by their element-wise sum over all ranks.
    public func sum(_ values: UnsafeMutablePointer<Float>, count: Int) throws {
        guard let mpi else { return }
        for start in stride(from: 0, to: count, by: Self.chunk) {
            try mpi.allreduce(values + start, count: min(Self.chunk, count - start), type: mpi.float, op: mpi.sum)
        }
    }

    /// The element-wise sum of `values` over all ranks.
    public func sum(_ values: [Double]) throws -> [Double] {
        guard let mpi, !values.isEmpty else { return values }
        var result = values
        try result.withUnsafeMutableBytes { try mpi.allreduce($0.baseAddress!, count: values.count, type: mpi.double, op: mpi.sum) }
        return result
    }

    /// Whether `flag` is true on any rank (all ranks get the same answer, so they take the same branch).
    public func any(_ flag: Bool) throws -> Bool {
        guard let mpi else { return flag }
        var value: Int32 = flag ? 1 : 0
        try mpi.allreduce(&value, count: 1, type: mpi.int32, op: mpi.max)
        return value != 0
    }

    /// Rank 0's `bytes` on every rank (the other ranks' argument is ignored).
    public func broadcast(_ bytes: [UInt8]) throws -> [UInt8] {
        guard let mpi else { return bytes }
        var length = UInt64(bytes.count)
        try mpi.broadcast(&length, count: 8)
        var result = isRoot ? bytes : [UInt8](repeating: 0, count: Int(length))
        try result.withUnsafeMutableBytes { buffer in
            for start in stride(from: 0, to: buffer.count, by: Self.chunk) {
                try mpi.broadcast(buffer.baseAddress! + start, count: min(Self.chunk, buffer.count - start))
            }
        }
        return result
    }

    /// Every rank's `bytes` at rank 0, in rank order; the other ranks get an empty array.
    public func gather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard let mpi else { return [bytes] }
        guard bytes.count <= Int(Int32.max) else { throw ParallelError.messageTooLarge(bytes: bytes.count) }
        let counts = try mpi.gather(Int32(bytes.count))
        let all = try mpi.gather(bytes, counts: counts)
        var pieces: [[UInt8]] = [], start = 0
        for count in counts.map(Int.init) {
            pieces.append(Array(all[start..<(start + count)]))
            start += count
        }
        return pieces
    }

    /// Piece r of rank 0's `pieces` (one per rank) on rank r; the other ranks' argument is ignored.
    public func scatter(_ pieces: [[UInt8]]) throws -> [UInt8] {
        guard let mpi else { return pieces[0] }
        if isRoot {
            precondition(pieces.count == size, "\(pieces.count) pieces for \(size) ranks")
            guard pieces.reduce(0, { $0 + $1.count }) <= Int(Int32.max) else {
                throw ParallelError.messageTooLarge(bytes: pieces.reduce(0) { $0 + $1.count })
            }
        }
        var counts = isRoot ? pieces.map { Int32($0.count) } : [Int32](repeating: 0, count: size)
        try counts.withUnsafeMutableBytes { try mpi.broadcast($0.baseAddress!, count: $0.count) }
        return try mpi.scatter(isRoot ? pieces.flatMap { $0 } : [], counts: counts, count: Int(counts[rank]))
    }

    // MARK: - Ending

    /// Leaves MPI after the last collective (nothing for a single process).
    public func finish() {
        mpi?.finalize()
    }

    /// Prints `message` and ends every rank of the job: a rank that fails alone must not leave the
    /// others waiting forever in their next collective.
    public func abort(message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        // Exiting with status 1 is enough: mpirun then ends every other rank and names this one. (MPI_Abort
        // does the same, but with libmpi loaded by dlopen, Open MPI 4.1 garbles its report into
        // "ORTE_ERROR_LOG: … show_help.c"; _exit also skips MPI's exit hooks, which could wait for peers.)
        _exit(1)
    }
}

/// What can go wrong joining or running a data-parallel job.
public enum ParallelError: Error, CustomStringConvertible {
    case libraryMissing(tried: [String])
    case symbolMissing(library: String, symbol: String)
    case callFailed(call: String, rank: Int, message: String)
    case sizeMismatch(environment: Int, mpi: Int)
    case unsupportedLauncher(variable: String)
    case messageTooLarge(bytes: Int)
    case batchNotDivisible(batch: Int, ranks: Int)

    public var description: String {
        switch self {
        case .libraryMissing(let tried):
            return "started by mpirun, but Open MPI's library cannot be loaded (\(tried.joined(separator: "; "))); "
                + "install Open MPI on every machine of the job (Debian/Ubuntu: apt-get install openmpi-bin)"
        case .symbolMissing(let library, let symbol):
            return "\(library) has no symbol \(symbol): understudy needs Open MPI 3, 4 or 5 (libmpi.so.40)"
        case .callFailed(let call, let rank, let message):
            return "\(call) failed on rank \(rank): \(message) (did another rank of the job stop?)"
        case .sizeMismatch(let environment, let mpi):
            return "mpirun announced \(environment) ranks (OMPI_COMM_WORLD_SIZE) but MPI reports \(mpi); "
                + "is the mpirun on PATH from the Open MPI that libmpi.so.40 belongs to?"
        case .unsupportedLauncher(let variable):
            return "started as one of several ranks (\(variable)) by a launcher other than Open MPI's mpirun; "
                + "understudy loads Open MPI (libmpi.so.40): start the job with Open MPI's mpirun"
        case .messageTooLarge(let bytes):
            return "a message of \(bytes) bytes exceeds MPI's 2 GiB limit per call"
        case .batchNotDivisible(let batch, let ranks):
            return "the run's batch of \(batch) sequences per step cannot be split evenly over \(ranks) ranks; "
                + "start it with a number of ranks that divides \(batch)"
        }
    }
}
