import WandTensor

/// The reference's `feat_cache` (§5.4), keyed by the conv's weight prefix instead of a running index:
/// for every temporal-kernel-3 causal conv, the last two *input* frames it has seen. Holding only
/// these makes chunked (streaming) processing equal to a causal conv over the whole sequence, and
/// bounds memory by the frame size, not the frame count.
public final class CausalCache {
    enum Slot {
        /// upsample3d after the first chunk: its time_conv history starts empty (frame 0 is not part
        /// of it, §5.5 rule 3). The reference's "Rep" marker.
        case started
        case frames(Tensor)
    }

    var slots: [String: Slot] = [:]

    public init() {}

    public func reset() { slots.removeAll() }

    /// Bytes held by the cached frames: what the streaming state costs between chunks.
    public var byteCount: Int {
        slots.values.reduce(0) { sum, slot in
            if case .frames(let t) = slot { return sum + t.count * MemoryLayout<Float>.size }
            return sum
        }
    }
}
