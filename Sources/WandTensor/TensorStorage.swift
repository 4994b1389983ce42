// The memory behind tensors. A storage either owns an aligned f32 allocation or borrows memory
// that someone else keeps alive (an mmapped weight file, for example) through `owner`.
//
// Ownership and Sendable: a storage is shared by every tensor viewing it. Ops never write into
// an input's storage; they allocate their result. Writers (`Tensor.withMutableData`, in-place ops)
// must only be used on a tensor the caller has just created and not yet shared across tasks.
// Under that rule concurrent readers are safe, which is why the class is @unchecked Sendable.
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    private let owned: Bool
    private let owner: AnyObject?

    /// A fresh, zero-filled, 64-byte-aligned allocation of `count` floats.
    public init(count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        raw.initializeMemory(as: Float.self, repeating: 0, count: max(count, 1))
        pointer = raw.assumingMemoryBound(to: Float.self)
        self.count = count
        owned = true
        owner = nil
    }

    /// Uninitialized allocation, for ops that overwrite every element.
    init(uninitializedCount count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.count = count
        owned = true
        owner = nil
    }

    /// Borrowed memory (e.g. f32 data inside an mmapped file). `owner` is retained for as long
    /// as this storage lives, so the mapping cannot go away under a tensor.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject?) {
        self.pointer = pointer
        self.count = count
        owned = false
        self.owner = owner
    }

    deinit {
        if owned { UnsafeMutableRawPointer(pointer).deallocate() }
    }
}
