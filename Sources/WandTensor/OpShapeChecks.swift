// The argument checks every backend makes before an op, so the CPU and Vulkan paths refuse the
// same inputs with the same errors.

/// A conv3d's sizes, checked: x [Cin, T, H, W], weight [Cout, Cin, kT, kH, kW], optional bias [Cout].
struct Conv3DGeometry {
    let cin, t, h, w: Int
    let cout, kt, kh, kw: Int
    /// The padded input's extent.
    let tp, hp, wp: Int
    /// The output's.
    let to, ho, wo: Int

    init(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int, Int), padding p: Conv3DPadding) throws {
        guard x.rank == 4, weight.rank == 5, weight.shape[1] == x.shape[0] else {
            throw TensorError.shapeMismatch(op: "conv3d", detail: "x \(x.shape), weight \(weight.shape)")
        }
        guard [p.timeFront, p.timeBack, p.top, p.bottom, p.left, p.right].allSatisfy({ $0 >= 0 }),
              stride.0 > 0, stride.1 > 0, stride.2 > 0 else {
            throw TensorError.invalidArgument(op: "conv3d", detail: "padding \(p), stride \(stride)")
        }
        (cin, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        (cout, kt, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3], weight.shape[4])
        if let bias, bias.count != cout { throw TensorError.shapeMismatch(op: "conv3d", detail: "bias \(bias.shape)") }
        (tp, hp, wp) = (t + p.timeFront + p.timeBack, h + p.top + p.bottom, w + p.left + p.right)
        guard tp >= kt, hp >= kh, wp >= kw else {
            throw TensorError.shapeMismatch(op: "conv3d", detail: "padded input \([cin, tp, hp, wp]) smaller than kernel \(weight.shape)")
        }
        (to, ho, wo) = ((tp - kt) / stride.0 + 1, (hp - kh) / stride.1 + 1, (wp - kw) / stride.2 + 1)
    }
}

/// Attention's sizes, checked: q [Lq, heads, d], k and v [Lk, heads, d], optional bias [heads, Lq, Lk].
struct AttentionGeometry {
    let lq, heads, d, lk: Int

    init(q: Tensor, k: Tensor, v: Tensor, bias: Tensor?) throws {
        guard q.rank == 3, k.rank == 3, v.rank == 3, k.shape == v.shape, q.shape[1] == k.shape[1],
              q.shape[2] == k.shape[2] else {
            throw TensorError.shapeMismatch(op: "attention", detail: "q \(q.shape), k \(k.shape), v \(v.shape)")
        }
        (lq, heads, d, lk) = (q.shape[0], q.shape[1], q.shape[2], k.shape[0])
        if let bias, bias.shape != [heads, lq, lk] {
            throw TensorError.shapeMismatch(op: "attention", detail: "bias \(bias.shape), expected [\(heads), \(lq), \(lk)]")
        }
        guard lk > 0 else { throw TensorError.invalidArgument(op: "attention", detail: "no keys") }
    }
}

/// groupNorm's arguments, checked; returns the channel count.
func checkedGroupNormChannels(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?) throws -> Int {
    guard x.rank >= 1, groups > 0, x.shape[0] % groups == 0 else {
        throw TensorError.invalidArgument(op: "groupNorm", detail: "\(x.shape) in \(groups) groups")
    }
    let c = x.shape[0]
    if let weight, weight.count != c { throw TensorError.shapeMismatch(op: "groupNorm", detail: "weight \(weight.shape)") }
    if let bias, bias.count != c { throw TensorError.shapeMismatch(op: "groupNorm", detail: "bias \(bias.shape)") }
    return c
}

/// channelRMSNorm's arguments, checked; returns the channel count.
func checkedChannelRMSNormChannels(_ x: Tensor, gamma: Tensor, bias: Tensor?) throws -> Int {
    guard x.rank >= 1 else { throw TensorError.invalidArgument(op: "channelRMSNorm", detail: "rank 0") }
    let c = x.shape[0]
    guard gamma.count == c, bias.map({ $0.count == c }) ?? true else {
        throw TensorError.shapeMismatch(op: "channelRMSNorm", detail: "x \(x.shape), gamma \(gamma.shape)")
    }
    return c
}
