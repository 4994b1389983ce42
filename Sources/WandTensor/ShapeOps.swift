// Data-movement ops. They are backend independent on host memory; a device backend would provide
// its own versions.
extension Tensor {
    /// Zero (or `value`) padding: `pads[d] = (before, after)` for every dim.
    public func padded(_ pads: [(Int, Int)], value: Float = 0) throws -> Tensor {
        guard pads.count == rank, pads.allSatisfy({ $0.0 >= 0 && $0.1 >= 0 }) else {
            throw TensorError.invalidArgument(op: "pad", detail: "pads \(pads) for shape \(shape)")
        }
        let newShape = zip(shape, pads).map { $0 + $1.0 + $1.1 }
        if storage.isDeviceOnly, let device = storage.deviceMemory {
            return try device.assemble(shape: newShape, fill: value, parts: [(self, pads.map(\.0))])
        }
        let out = Tensor(filled: value, shape: newShape)
        try out.assign(self, at: pads.map(\.0))
        return out
    }

    /// Copy `source` into this tensor starting at `origin` (a write: see TensorStorage).
    func assign(_ source: Tensor, at origin: [Int]) throws {
        guard source.rank == rank, isContiguous, zip(zip(origin, source.shape), shape).allSatisfy({ $0.0 + $0.1 <= $1 }) else {
            throw TensorError.shapeMismatch(op: "assign", detail: "\(source.shape) at \(origin) into \(shape)")
        }
        if source.count == 0 { return }
        let src = source.contiguous()
        let inner = src.shape.last ?? 1
        let rows = src.count / Swift.max(inner, 1)
        let dstStrides = strides
        let dst = storage.pointer, srcPointer = src.storage.readPointer + src.offset
        var index = [Int](repeating: 0, count: Swift.max(rank - 1, 0))
        for r in 0..<rows {
            var o = offset + (origin.last ?? 0)
            for d in 0..<(rank - 1) { o += (index[d] + origin[d]) * dstStrides[d] }
            (dst + o).update(from: srcPointer + r * inner, count: inner)
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                if index[d] < src.shape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
    }

    /// torch.cat along `dim`.
    public static func concat(_ parts: [Tensor], dim: Int) throws -> Tensor {
        guard let first = parts.first, dim >= 0, dim < first.rank else {
            throw TensorError.invalidArgument(op: "concat", detail: "\(parts.count) parts along \(dim)")
        }
        for p in parts where p.rank != first.rank || zip(p.shape, first.shape).enumerated().contains(where: { $0.offset != dim && $0.element.0 != $0.element.1 }) {
            throw TensorError.shapeMismatch(op: "concat", detail: "\(p.shape) vs \(first.shape) along \(dim)")
        }
        var shape = first.shape
        shape[dim] = parts.map { $0.shape[dim] }.reduce(0, +)
        // Parts on a device are joined there (host parts are uploaded to it).
        if let device = parts.lazy.filter({ $0.storage.isDeviceOnly }).compactMap({ $0.storage.deviceMemory }).first {
            var at = 0
            let placed = parts.map { p -> (tensor: Tensor, origin: [Int]) in
                var origin = [Int](repeating: 0, count: first.rank)
                origin[dim] = at
                at += p.shape[dim]
                return (p, origin)
            }
            return try device.assemble(shape: shape, fill: 0, parts: placed)
        }
        let out = Tensor(uninitialized: shape)
        var at = 0
        for p in parts {
            var origin = [Int](repeating: 0, count: first.rank)
            origin[dim] = at
            try out.assign(p, at: origin)
            at += p.shape[dim]
        }
        return out
    }

    /// torch.pixel_shuffle on [C·r², H, W] -> [C, H·r, W·r].
    public func pixelShuffle(_ r: Int) throws -> Tensor {
        guard rank == 3, r > 0, shape[0] % (r * r) == 0 else {
            throw TensorError.invalidArgument(op: "pixelShuffle", detail: "\(shape) by \(r)")
        }
        let c = shape[0] / (r * r), h = shape[1], w = shape[2]
        // [c, r, r, h, w] -> [c, h, r, w, r]
        let v = try reshaped([c, r, r, h, w]).permuted([0, 3, 1, 4, 2]).contiguous()
        return try v.reshaped([c, h * r, w * r])
    }

    /// torch.pixel_unshuffle on [C, H·r, W·r] -> [C·r², H, W].
    public func pixelUnshuffle(_ r: Int) throws -> Tensor {
        guard rank == 3, r > 0, shape[1] % r == 0, shape[2] % r == 0 else {
            throw TensorError.invalidArgument(op: "pixelUnshuffle", detail: "\(shape) by \(r)")
        }
        let c = shape[0], h = shape[1] / r, w = shape[2] / r
        let v = try reshaped([c, h, r, w, r]).permuted([0, 2, 4, 1, 3]).contiguous()
        return try v.reshaped([c * r * r, h, w])
    }
}
