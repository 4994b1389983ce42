import Glibc

/// Large temporary float buffers of the conv kernels (padded input, regrouped or transformed
/// weights, Winograd planes), kept for the next call. Allocated afresh, buffers this big are
/// mmapped and unmapped on every call, and the kernel's page faults and zeroing took ~13 % of a
/// Wan2.2 VAE decode (perf: clear_page, page faults, unmap). The pool holds at most `keepBytes`
/// of free buffers, oldest dropped first; `release()` (through `ComputeBackend.releaseScratch`)
/// empties it when a decode or encode ends, so an idle daemon holds none.
final class ScratchPool: @unchecked Sendable {
    static let shared = ScratchPool()
    static let keepBytes = 384 << 20

    struct Buffer {
        let pointer: UnsafeMutablePointer<Float>
        let capacity: Int
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var free: [Buffer] = []  // guarded by `mutex`, oldest first

    init() { pthread_mutex_init(mutex, nil) }

    deinit {
        for b in free { b.pointer.deallocate() }
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// A buffer of at least `count` floats (contents undefined): the smallest free one that fits,
    /// else a new one.
    func take(_ count: Int) -> Buffer {
        let count = Swift.max(count, 1)
        pthread_mutex_lock(mutex)
        var best: Int? = nil
        for (i, b) in free.enumerated() where b.capacity >= count && (best == nil || b.capacity < free[best!].capacity) {
            best = i
        }
        let found = best.map { free.remove(at: $0) }
        pthread_mutex_unlock(mutex)
        return found ?? Buffer(pointer: .allocate(capacity: count), capacity: count)
    }

    func give(_ buffer: Buffer) {
        pthread_mutex_lock(mutex)
        free.append(buffer)
        var total = free.reduce(0) { $0 + $1.capacity } * MemoryLayout<Float>.size
        var dropped: [Buffer] = []
        while total > Self.keepBytes, !free.isEmpty {
            let b = free.removeFirst()
            total -= b.capacity * MemoryLayout<Float>.size
            dropped.append(b)
        }
        pthread_mutex_unlock(mutex)
        for b in dropped { b.pointer.deallocate() }
    }

    func release() {
        pthread_mutex_lock(mutex)
        let all = free
        free = []
        pthread_mutex_unlock(mutex)
        for b in all { b.pointer.deallocate() }
    }

    /// Floats held free (for tests).
    var heldFloats: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return free.reduce(0) { $0 + $1.capacity }
    }
}

extension CPUBackend {
    public func releaseScratch() { ScratchPool.shared.release() }
}
