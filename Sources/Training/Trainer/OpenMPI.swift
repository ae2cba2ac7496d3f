#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few Open MPI calls data parallelism needs, bound at run time with dlopen/dlsym so that neither
/// building nor running understudy needs MPI unless a job is launched with `mpirun`.
///
/// Open MPI's handles (`MPI_COMM_WORLD`, `MPI_FLOAT`, `MPI_SUM`, …) are the addresses of exported
/// objects (`ompi_mpi_comm_world`, …), which is why they can be looked up like functions. The ABI is
/// that of libmpi.so.40 (Open MPI 3, 4 and 5). The communicator returns errors instead of aborting,
/// so a failed collective becomes a typed error with MPI's own explanation.
final class OpenMPI: @unchecked Sendable {
    typealias Handle = UnsafeMutableRawPointer
    private typealias InitThread = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?, Int32,
                                                    UnsafeMutablePointer<Int32>) -> Int32
    private typealias CommInt = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    private typealias CommSetErrhandler = @convention(c) (Handle, Handle) -> Int32
    private typealias Allreduce = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
    private typealias Bcast = @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
    private typealias Gather = @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
    private typealias Gatherv = @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, UnsafePointer<Int32>?,
                                                UnsafePointer<Int32>?, Handle, Int32, Handle) -> Int32
    private typealias Scatterv = @convention(c) (UnsafeRawPointer?, UnsafePointer<Int32>?, UnsafePointer<Int32>?, Handle,
                                                 UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
    private typealias Finalize = @convention(c) () -> Int32
    private typealias ErrorString = @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32

    /// The library names tried in order: the versioned name that the runtime package installs, then the
    /// development symlink, then macOS's name.
    static let libraryNames = ["libmpi.so.40", "libmpi.so", "libmpi.40.dylib"]

    let library: String
    let world, float, double, byte, int32, sum, max: Handle
    private let allreduce: Allreduce
    private let bcast: Bcast
    private let gather: Gather
    private let gatherv: Gatherv
    private let scatterv: Scatterv
    private let finalizeCall: Finalize
    private let errorString: ErrorString
    private(set) var rank = 0, size = 1

    /// Loads libmpi and calls MPI_Init_thread (the main thread alone calls MPI).
    init() throws {
        // RTLD_GLOBAL: Open MPI loads its components as plugins that resolve symbols of libmpi itself.
        var handle: UnsafeMutableRawPointer?
        var failures: [String] = []
        var loaded = ""
        for name in Self.libraryNames {
            handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL)
            if handle != nil { loaded = name; break }
            failures.append(dlerror().map { String(cString: $0) } ?? name)
        }
        guard let handle else { throw ParallelError.libraryMissing(tried: failures) }
        library = loaded
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let address = dlsym(handle, name) else { throw ParallelError.symbolMissing(library: loaded, symbol: name) }
            return address
        }
        func function<F>(_ name: String, as type: F.Type) throws -> F { unsafeBitCast(try symbol(name), to: type) }
        world = try symbol("ompi_mpi_comm_world")
        float = try symbol("ompi_mpi_float")
        double = try symbol("ompi_mpi_double")
        byte = try symbol("ompi_mpi_byte")
        int32 = try symbol("ompi_mpi_int")
        sum = try symbol("ompi_mpi_op_sum")
        max = try symbol("ompi_mpi_op_max")
        let errorsReturn = try symbol("ompi_mpi_errors_return")
        allreduce = try function("MPI_Allreduce", as: Allreduce.self)
        bcast = try function("MPI_Bcast", as: Bcast.self)
        gather = try function("MPI_Gather", as: Gather.self)
        gatherv = try function("MPI_Gatherv", as: Gatherv.self)
        scatterv = try function("MPI_Scatterv", as: Scatterv.self)
        finalizeCall = try function("MPI_Finalize", as: Finalize.self)
        errorString = try function("MPI_Error_string", as: ErrorString.self)
        let initThread = try function("MPI_Init_thread", as: InitThread.self)
        let commRank = try function("MPI_Comm_rank", as: CommInt.self)
        let commSize = try function("MPI_Comm_size", as: CommInt.self)
        let setErrhandler = try function("MPI_Comm_set_errhandler", as: CommSetErrhandler.self)

        var provided: Int32 = 0
        try check("MPI_Init_thread", initThread(nil, nil, 1 /* MPI_THREAD_FUNNELED */, &provided))
        try check("MPI_Comm_set_errhandler", setErrhandler(world, errorsReturn))
        var value: Int32 = 0
        try check("MPI_Comm_rank", commRank(world, &value))
        rank = Int(value)
        try check("MPI_Comm_size", commSize(world, &value))
        size = Int(value)
    }

    /// In-place element-wise reduction with `op` over all ranks of `count` elements of `type`.
    func allreduce(_ buffer: UnsafeMutableRawPointer, count: Int, type: Handle, op: Handle) throws {
        let inPlace = UnsafeRawPointer(bitPattern: 1)   // MPI_IN_PLACE in Open MPI's mpi.h
        try check("MPI_Allreduce", allreduce(inPlace, buffer, Int32(count), type, op, world))
    }

    /// Rank `root`'s `count` bytes at `buffer` into every rank's `buffer`.
    func broadcast(_ buffer: UnsafeMutableRawPointer, count: Int, root: Int = 0) throws {
        try check("MPI_Bcast", bcast(buffer, Int32(count), byte, Int32(root), world))
    }

    /// Every rank's `value` at rank 0, in rank order (elsewhere an empty array).
    func gather(_ value: Int32) throws -> [Int32] {
        var mine = value
        var all = [Int32](repeating: 0, count: rank == 0 ? size : 0)
        try all.withUnsafeMutableBytes { out in
            try check("MPI_Gather", gather(&mine, 1, int32, out.baseAddress, 1, int32, 0, world))
        }
        return all
    }

    /// Every rank's bytes, concatenated in rank order at rank 0; `counts` (rank 0 only) says how many each sends.
    func gather(_ bytes: [UInt8], counts: [Int32]) throws -> [UInt8] {
        let displacements = Self.offsets(counts)
        var all = [UInt8](repeating: 0, count: Int(counts.reduce(0, +)))
        try bytes.withUnsafeBytes { mine in
            try all.withUnsafeMutableBytes { out in
                try check("MPI_Gatherv", gatherv(mine.baseAddress, Int32(bytes.count), byte, out.baseAddress,
                                                 rank == 0 ? counts : nil, rank == 0 ? displacements : nil, byte, 0, world))
            }
        }
        return all
    }

    /// Rank 0's `bytes`, cut into consecutive pieces of `counts[r]` bytes, piece r to rank r (which expects `count` bytes).
    func scatter(_ bytes: [UInt8], counts: [Int32], count: Int) throws -> [UInt8] {
        let displacements = Self.offsets(counts)
        var mine = [UInt8](repeating: 0, count: count)
        try bytes.withUnsafeBytes { all in
            try mine.withUnsafeMutableBytes { out in
                try check("MPI_Scatterv", scatterv(all.baseAddress, rank == 0 ? counts : nil, rank == 0 ? displacements : nil, byte,
                                                   out.baseAddress, Int32(count), byte, 0, world))
            }
        }
        return mine
    }

    /// Leaves MPI cleanly (every rank must call it once, at the end).
    func finalize() { _ = finalizeCall() }

    /// Where each piece starts when pieces of `counts` bytes lie one after another.
    private static func offsets(_ counts: [Int32]) -> [Int32] {
        var offsets: [Int32] = [], next: Int32 = 0
        for count in counts {
            offsets.append(next)
            next += count
        }
        return offsets
    }

    private func check(_ call: String, _ code: Int32) throws {
        guard code != 0 else { return }
        var text = [CChar](repeating: 0, count: 512)   // MPI_MAX_ERROR_STRING is 256
        var length: Int32 = 0
        let message = errorString(code, &text, &length) == 0
            ? String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "error \(code)"
        throw ParallelError.callFailed(call: call, rank: rank, message: message)
    }
}
