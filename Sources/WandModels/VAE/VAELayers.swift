import WandTensor

/// The VAE building blocks of §5.1 and §5.3 over [C, T, H, W] tensors, one chunk of frames at a time.
/// Weight names are the official ones; `prefix` is a module path like `decoder.middle.0`.
struct VAELayers {
    let backend: any ComputeBackend
    let weights: WanVAEWeights

    func w(_ name: String) throws -> Tensor { try weights.tensor(name) }

    // MARK: convolutions

    /// CausalConv3d (kernel 3 or 1 in time). With a cache, the conv's input history (last two
    /// frames) is prepended instead of zeros and updated from this chunk.
    func causalConv(_ x: Tensor, _ prefix: String, cache: CausalCache?) throws -> Tensor {
        let weight = try w(prefix + ".weight"), bias = try w(prefix + ".bias")
        guard weight.rank == 5, weight.shape[1] == x.shape[0] else {
            throw VAEError.badShape(name: prefix + ".weight", shape: weight.shape, expected: "[Cout, \(x.shape[0]), kt, kh, kw]")
        }
        let kt = weight.shape[2], kh = weight.shape[3], kw = weight.shape[4]
        var input = x
        var front = kt - 1
        if kt > 1, let cache {
            var history: Tensor? = nil
            if case .frames(let h)? = cache.slots[prefix] { history = h }
            if let history { input = try Tensor.concat([history, x], dim: 1) }
            front = max(0, kt - 1 - (history?.shape[1] ?? 0))
            let keep = min(kt - 1, input.shape[1])
            cache.slots[prefix] = .frames(try input.sliced(dim: 1, (input.shape[1] - keep)..<input.shape[1]).contiguous())
        }
        let pad = Conv3DPadding(timeFront: front, timeBack: 0, top: kh / 2, bottom: kh / 2, left: kw / 2, right: kw / 2)
        return try backend.conv3d(input, weight: weight, bias: bias, stride: (1, 1, 1), padding: pad)
    }

    /// A Conv2d applied to every frame, as a conv3d with a time kernel of 1.
    func frameConv(_ x: Tensor, _ prefix: String, stride: Int, padding: Conv3DPadding) throws -> Tensor {
        let weight = try w(prefix + ".weight"), bias = try w(prefix + ".bias")
        guard weight.rank == 4 else { throw VAEError.badShape(name: prefix + ".weight", shape: weight.shape, expected: "[Cout, Cin, kh, kw]") }
        let w5 = try weight.reshaped([weight.shape[0], weight.shape[1], 1, weight.shape[2], weight.shape[3]])
        return try backend.conv3d(x, weight: w5, bias: bias, stride: (1, stride, stride), padding: padding)
    }

    func rmsNorm(_ x: Tensor, _ prefix: String) throws -> Tensor {
        try backend.channelRMSNorm(x, gamma: try w(prefix + ".gamma"), bias: nil)
    }

    // MARK: blocks

    func residualBlock(_ x: Tensor, _ prefix: String, cache: CausalCache?) throws -> Tensor {
        let shortcut = weights.has(prefix + ".shortcut.weight") ? try causalConv(x, prefix + ".shortcut", cache: nil) : x
        var h = backend.silu(try rmsNorm(x, prefix + ".residual.0"))
        h = try causalConv(h, prefix + ".residual.2", cache: cache)
        h = backend.silu(try rmsNorm(h, prefix + ".residual.3"))
        h = try causalConv(h, prefix + ".residual.6", cache: cache)
        return try backend.add(h, shortcut)
    }

    /// Single-head spatial self-attention, independently per frame.
    func attentionBlock(_ x: Tensor, _ prefix: String) throws -> Tensor {
        let c = x.shape[0], t = x.shape[1], hw = x.shape[2] * x.shape[3]
        let qkvW = try w(prefix + ".to_qkv.weight").reshaped([3 * c, c]), qkvB = try w(prefix + ".to_qkv.bias")
        let projW = try w(prefix + ".proj.weight").reshaped([c, c]), projB = try w(prefix + ".proj.bias")
        let gamma = try w(prefix + ".norm.gamma")
        var projectedFrames: [Tensor] = []
        for f in 0..<t {
            let frame = try x.sliced(dim: 1, f..<(f + 1)).reshaped([c, hw])
            let normed = try backend.channelRMSNorm(frame, gamma: gamma, bias: nil)
            let tokens = try normed.permuted([1, 0]).contiguous()                       // [hw, c]
            let qkv = try backend.linear(tokens, weight: qkvW, bias: qkvB)              // [hw, 3c]
            let q = try qkv.sliced(dim: 1, 0..<c).contiguous().reshaped([hw, 1, c])
            let k = try qkv.sliced(dim: 1, c..<(2 * c)).contiguous().reshaped([hw, 1, c])
            let v = try qkv.sliced(dim: 1, (2 * c)..<(3 * c)).contiguous().reshaped([hw, 1, c])
            let a = try backend.attention(q: q, k: k, v: v, scale: nil, bias: nil).reshaped([hw, c])
            let projected = try backend.linear(a, weight: projW, bias: projB).permuted([1, 0])  // [c, hw]
            projectedFrames.append(try projected.reshaped([c, 1, x.shape[2], x.shape[3]]))
        }
        let projected = t == 1 ? projectedFrames[0] : try Tensor.concat(projectedFrames, dim: 1)
        return try backend.add(projected, x)
    }

    // MARK: resampling (§5.1, §5.5)

    func downsample(_ x: Tensor, _ prefix: String, temporal: Bool, cache: CausalCache?) throws -> Tensor {
        // ZeroPad2d((0, 1, 0, 1)) then a stride-2 3×3 conv, per frame.
        let pad = Conv3DPadding(timeFront: 0, timeBack: 0, top: 0, bottom: 1, left: 0, right: 1)
        let s = try frameConv(x, prefix + ".resample.1", stride: 2, padding: pad)
        guard temporal else { return s }
        guard let cache else { throw VAEError.badInput(detail: "downsample3d needs the causal cache") }
        let key = prefix + ".time_conv"
        let last = try s.sliced(dim: 1, (s.shape[1] - 1)..<s.shape[1]).contiguous()
        guard case .frames(let previous)? = cache.slots[key] else {
            // First chunk (one frame): passes through; its last frame opens the stride-2 history.
            cache.slots[key] = .frames(last)
            return s
        }
        cache.slots[key] = .frames(last)
        let input = try Tensor.concat([previous, s], dim: 1)
        return try backend.conv3d(input, weight: try w(key + ".weight"), bias: try w(key + ".bias"),
                                  stride: (2, 1, 1), padding: .none)
    }

    func upsample(_ x: Tensor, _ prefix: String, temporal: Bool, cache: CausalCache?) throws -> Tensor {
        var x = x
        if temporal {
            guard let cache else { throw VAEError.badInput(detail: "upsample3d needs the causal cache") }
            let key = prefix + ".time_conv"
            if cache.slots[key] == nil {
                // First chunk: frame 0 is not doubled and stays out of the time_conv history.
                cache.slots[key] = .started
            } else {
                if case .started? = cache.slots[key] { cache.slots[key] = nil }
                let y = try causalConv(x, key, cache: cache)     // [2C, T, H, W]
                x = try interleaveTimeHalves(y)
            }
        }
        let up = try backend.interpolate(x, height: x.shape[2] * 2, width: x.shape[3] * 2, mode: .nearestExact)
        return try frameConv(up, prefix + ".resample.1", stride: 1,
                             padding: Conv3DPadding(timeFront: 0, timeBack: 0, top: 1, bottom: 1, left: 1, right: 1))
    }

    /// [2C, T, H, W] -> [C, 2T, H, W]: channels [0, C) are sub-frame 0, [C, 2C) sub-frame 1.
    func interleaveTimeHalves(_ y: Tensor) throws -> Tensor {
        let c = y.shape[0] / 2, t = y.shape[1], h = y.shape[2], w = y.shape[3]
        return try y.reshaped([2, c, t, h * w]).permuted([1, 2, 0, 3]).contiguous().reshaped([c, 2 * t, h, w])
    }
}
