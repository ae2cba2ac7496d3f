import Glibc
import Kernels

/// A GGUF file mapped into memory read-only (mmap); tensor data is never copied.
///
/// The header region is parsed and validated once, at init. Tensor data stays in the mapping and is
/// handed out as raw buffers; because mmap returns page-aligned memory, a tensor whose file offset is a
/// multiple of the alignment is aligned in memory too (up to the page size).
public final class GGUFFile: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init and the mapping is read-only.

    /// The format version (3, or 2 which has the same layout).
    public let version: UInt32
    /// Metadata key-value pairs in file order.
    public let metadata: [(key: String, value: GGUFValue)]
    /// Tensor descriptions in file order.
    public let tensors: [GGUFTensorInfo]
    /// The data alignment: `general.alignment`, or 32 when absent.
    public let alignment: Int
    /// Total bytes in the file.
    public let fileSize: Int
    /// File offset where the data section begins.
    public let dataOffset: Int

    private let index: [String: Int]
    private let tensorIndex: [String: Int]
    private let base: UnsafeRawPointer
    private let ownership: Ownership

    private enum Ownership {
        case mapped        // munmap in deinit
        case allocated     // deallocate in deinit
    }

    /// Maps the file at `path` and parses its header region; throws `GGUFError`.
    public convenience init(path: String) throws(GGUFError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, operation: "fstat", errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw .io(path: path, operation: "open", errno: (st.st_mode & S_IFMT) == S_IFDIR ? EISDIR : EINVAL)
        }
        let size = Int(st.st_size)
        // mmap rejects length 0, and nothing shorter than a header can be GGUF anyway.
        guard size >= GGUFLimits.headerSize else {
            throw .fileTooSmall(size: size, minimum: GGUFLimits.headerSize)
        }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw .io(path: path, operation: "mmap", errno: errno)
        }
        do {
            try self.init(base: UnsafeRawPointer(map), size: size, ownership: .mapped)
        } catch {
            // init failed before the object could take ownership of the mapping.
            munmap(map, size)
            throw error
        }
    }

    /// Parses a GGUF image held in memory (copied into page-aligned memory this object owns).
    public convenience init(bytes: [UInt8]) throws(GGUFError) {
        guard !bytes.isEmpty else {
            throw .fileTooSmall(size: 0, minimum: GGUFLimits.headerSize)
        }
        let memory = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 4096)
        bytes.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        do {
            try self.init(base: UnsafeRawPointer(memory), size: bytes.count, ownership: .allocated)
        } catch {
            memory.deallocate()
            throw error
        }
    }

    private init(base: UnsafeRawPointer, size: Int, ownership: Ownership) throws(GGUFError) {
        let parsed = try GGUFParser.parse(UnsafeRawBufferPointer(start: base, count: size))
        self.version = parsed.version
        self.metadata = parsed.metadata
        self.index = parsed.index
        self.tensors = parsed.tensors
        self.tensorIndex = parsed.tensorIndex
        self.alignment = parsed.alignment
        self.dataOffset = parsed.dataOffset
        self.fileSize = size
        self.base = base
        self.ownership = ownership
    }

    deinit {
        switch ownership {
        case .mapped: munmap(UnsafeMutableRawPointer(mutating: base), fileSize)
        case .allocated: base.deallocate()
        }
    }

    /// The metadata value for `key`, found in O(1).
    public subscript(key: String) -> GGUFValue? {
        index[key].map { metadata[$0].value }
    }

    /// The tensor named `name`, found in O(1).
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The bytes of `tensor`, which must come from this file; valid while this `GGUFFile` lives.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + tensor.offset
        precondition(tensor.offset >= 0 && tensor.byteCount >= 0 && start <= fileSize - tensor.byteCount,
                     "tensor \"\(tensor.name)\" does not lie inside this GGUF file")
        return UnsafeRawBufferPointer(start: base + start, count: tensor.byteCount)
    }

    /// Drops this process's resident pages of a tensor's bytes (the whole pages inside them) when the file is
    /// mapped: for a tensor the kernels read from a packed copy. The bytes stay valid and read back from the
    /// file if touched again. Nothing for a file read into memory (dropping would zero it).
    public func releasePages(of tensor: GGUFTensorInfo) {
        guard case .mapped = ownership else { return }
        let bytes = data(for: tensor)
        guard let start = bytes.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + bytes.count) / page * page
        guard end > first, let address = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(address, end - first, MADV_DONTNEED)
    }

    /// The bytes of the whole file (header region included); valid while this `GGUFFile` lives.
    public var rawBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: fileSize)
    }
}
