#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file. Mapping reads nothing: pages come in only when a
/// tensor's bytes are touched, so opening a 20 GB checkpoint costs the header parse alone.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is PROT_READ and never changes after init, so sharing it is safe.
    public let path: String
    public let size: Int
    public let base: UnsafeRawPointer?

    public init(path: String) throws(WeightError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WeightError(path: path, .cannotOpen(errno: errno)) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw WeightError(path: path, .cannotOpen(errno: errno)) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw WeightError(path: path, .cannotOpen(errno: EISDIR)) }
        size = Int(st.st_size)
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw WeightError(path: path, .cannotMap(errno: errno)) }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// Bytes [offset, offset+count); the caller has checked the range.
    public func bytes(offset: Int, count: Int) -> UnsafeRawBufferPointer {
        guard let base, count > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: count)
    }

    public var all: UnsafeRawBufferPointer { bytes(offset: 0, count: size) }
}
