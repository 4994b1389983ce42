import Glibc

// The memory behind tensors. A storage holds host memory (an aligned f32 allocation it owns, or
// memory someone else keeps alive, such as an mmapped weight file, through `owner`), device
// memory (a buffer of a device backend), or both.
//
// Ownership and Sendable: a storage is shared by every tensor viewing it. Ops never write into
// an input's storage; they allocate their result. Writers (`Tensor.withMutableData`, in-place ops)
// must only be used on a tensor the caller has just created and not yet shared across tasks.
// Under that rule concurrent readers are safe, which is why the class is @unchecked Sendable;
// the host/device state itself is guarded by a lock.
//
// Host and device copies: a device backend's results live on the device only; host code that
// touches `pointer` gets them copied back first (lazily, once). Because `pointer` hands out
// write access, it also marks the device copy stale, and the next device op uploads the host
// data again; read-only paths (`readPointer`: `withData`, `array`, `contiguous()`) keep both.
// A host tensor that a device op uses is uploaded once and the device copy kept with it, so
// weights and inputs stay resident for as long as their storage lives.
public final class TensorStorage: @unchecked Sendable {
    public let count: Int
    private var host: UnsafeMutablePointer<Float>?
    private var ownsHost: Bool
    private let owner: AnyObject?
    private var device: (any DeviceMemory)?
    private var deviceValid = false
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    /// A fresh, zero-filled, 64-byte-aligned allocation of `count` floats.
    public init(count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        host = raw.assumingMemoryBound(to: Float.self)
        self.count = count
        ownsHost = true
        owner = nil
        pthread_mutex_init(lock, nil)
    }

    /// Uninitialized allocation, for ops that overwrite every element.
    init(uninitializedCount count: Int) {
        host = TensorStorage.allocate(count)
        self.count = count
        ownsHost = true
        owner = nil
        pthread_mutex_init(lock, nil)
    }

    /// Borrowed memory (e.g. f32 data inside an mmapped file). `owner` is retained for as long
    /// as this storage lives, so the mapping cannot go away under a tensor.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject?) {
        host = pointer
        self.count = count
        ownsHost = false
        self.owner = owner
        pthread_mutex_init(lock, nil)
    }

    /// Device memory only (a device backend's result); host memory is made when host code asks.
    public init(device memory: any DeviceMemory, count: Int) {
        host = nil
        self.count = count
        ownsHost = true
        owner = nil
        device = memory
        deviceValid = true
        pthread_mutex_init(lock, nil)
    }

    deinit {
        if ownsHost, let host { UnsafeMutableRawPointer(host).deallocate() }
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    /// Host memory with write access: copied back from the device first if needed; the device
    /// copy, if any, counts as stale afterwards (see the type's comment).
    public var pointer: UnsafeMutablePointer<Float> {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let p = materializeLocked()
        deviceValid = false
        return p
    }

    /// Host memory for reading: the device copy stays valid.
    public var readPointer: UnsafePointer<Float> {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return UnsafePointer(materializeLocked())
    }

    private func materializeLocked() -> UnsafeMutablePointer<Float> {
        if let host { return host }
        let p = TensorStorage.allocate(count)
        if deviceValid, let device {
            do {
                try device.download(into: p, count: count)
            } catch {
                // A device that fails a copy back (device lost) leaves no data to go on with.
                fatalError("copying a tensor back from \(device.deviceName) failed: \(error)")
            }
        }
        host = p
        ownsHost = true
        return p
    }

    /// The device memory holding this storage's current data, if there is one.
    public var deviceMemory: (any DeviceMemory)? {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return deviceValid ? device : nil
    }

    /// True when the data exists only on a device (host access would copy it back).
    public var isDeviceOnly: Bool {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return host == nil && deviceValid
    }

    /// A device backend attaches the copy it uploaded from this storage's host data.
    public func attachDevice(_ memory: any DeviceMemory) {
        pthread_mutex_lock(lock)
        device = memory
        deviceValid = true
        pthread_mutex_unlock(lock)
    }
}

/// Memory on a compute device behind a storage. WandTensor's host code needs only to copy it
/// back, and to run data movement (strided copies, concatenation, padding) where the data is.
public protocol DeviceMemory: AnyObject, Sendable {
    var deviceName: String { get }
    var deviceBytes: Int { get }
    func download(into destination: UnsafeMutablePointer<Float>, count: Int) throws
    /// A contiguous copy of `view` (whose storage is backed by this memory) on the same device.
    func gather(_ view: Tensor) throws -> Tensor
    /// A new contiguous tensor of `shape` filled with `fill`, with each part copied in at its
    /// origin, on this memory's device (host parts are uploaded).
    func assemble(shape: [Int], fill: Float, parts: [(tensor: Tensor, origin: [Int])]) throws -> Tensor
}
