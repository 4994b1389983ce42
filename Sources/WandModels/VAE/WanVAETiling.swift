import WandTensor

/// Spatial tiling of the decoder for frames too large to decode whole. conv1 and the middle blocks
/// run on the whole frame (they work at latent resolution, so they are small, and the middle
/// attention must see the whole frame: tiling it is what limits diffusers' tiled decode to ~35 dB).
/// Their output is cut into overlapping tiles, and each tile runs through the upsampling stages
/// for all frames before the next tile starts, so only one tile's causal caches and activations
/// exist at a time (the caches, two frames per convolution, are most of a streaming decode's
/// memory). The overlaps are cross-faded. Only the convolutions' receptive fields are cut, so the
/// result is within ~50 dB of the untiled decode on a trained VAE (`VAETrainedTilingTests`).
public struct VAETiling: Sendable, Equatable {
    /// Tile size in latent pixels (height, width).
    public var tileHeight: Int
    public var tileWidth: Int
    /// Overlap between neighbouring tiles in latent pixels.
    public var overlap: Int

    public init(tileHeight: Int, tileWidth: Int, overlap: Int) {
        self.tileHeight = tileHeight
        self.tileWidth = tileWidth
        self.overlap = overlap
    }

    /// Tile origins along one axis of `size` latent pixels.
    func origins(size: Int, tile: Int) -> [Int] {
        if size <= tile { return [0] }
        let stride = tile - overlap
        var o: [Int] = []
        var p = 0
        while p + tile < size { o.append(p); p += stride }
        o.append(size - tile)
        return o
    }
}

extension WanVAE {
    /// The whole video [3, tf(F−1)+1, H, W], clamped to [−1, 1], decoded tile by tile.
    public func decodeTiled(_ latents: Tensor, tiling: VAETiling) throws -> Tensor {
        guard latents.rank == 4, latents.shape[0] == config.zDim, latents.shape[1] >= 1 else {
            throw VAEError.badInput(detail: "decode expects [\(config.zDim), F, h, w]; got \(latents.shape)")
        }
        guard tiling.overlap >= 0, tiling.tileHeight > tiling.overlap, tiling.tileWidth > tiling.overlap else {
            throw VAEError.badInput(detail: "tiling \(tiling): tiles must be larger than the overlap")
        }
        defer { backend.releaseScratch() }  // the conv buffers kept between tiles
        let f = latents.shape[1], h = latents.shape[2], w = latents.shape[3], s = config.spatialFactor
        let th = min(tiling.tileHeight, h), tw = min(tiling.tileWidth, w)
        let rows = tiling.origins(size: h, tile: th), cols = tiling.origins(size: w, tile: tw)
        // The whole-frame part, for every latent frame: [C, F, h, w] at latent resolution.
        let x = try layers.causalConv(try denormalize(latents), "conv2", cache: nil)
        let middleCache = CausalCache()
        var middles: [Tensor] = []
        for i in 0..<f { middles.append(try decoderMiddle(try x.sliced(dim: 1, i..<(i + 1)).contiguous(), cache: middleCache)) }
        let middle = try Tensor.concat(middles, dim: 1)
        middles.removeAll()

        let ramp = tiling.overlap * s, width = w * s, plane = h * s * width, frames = config.decoderTemporalFactor * (f - 1) + 1
        let out = Tensor(zeros: [3, frames, h * s, width])
        var weightSum = [Float](repeating: 0, count: plane)
        let dst = out.data
        for y0 in rows { for x0 in cols {
            let ph = th * s, pw = tw * s
            var weight = [Float](repeating: 1, count: ph * pw)
            for i in 0..<ph { for j in 0..<pw {
                var v: Float = 1
                if ramp > 0 {
                    if y0 > 0 { v *= Self.blendWeight(i, ramp: ramp) }
                    if y0 + th < h { v *= Self.blendWeight(ph - 1 - i, ramp: ramp) }
                    if x0 > 0 { v *= Self.blendWeight(j, ramp: ramp) }
                    if x0 + tw < w { v *= Self.blendWeight(pw - 1 - j, ramp: ramp) }
                }
                weight[i * pw + j] = v
                weightSum[(y0 * s + i) * width + x0 * s + j] += v
            } }
            let part = try middle.sliced(dim: 2, y0..<(y0 + th)).sliced(dim: 3, x0..<(x0 + tw)).contiguous()
            let cache = CausalCache()   // this tile's; freed before the next tile starts
            var t0 = 0
            for i in 0..<f {
                var y = try decoderUpsampling(try part.sliced(dim: 1, i..<(i + 1)).contiguous(), cache: cache,
                                              firstChunk: i == 0)
                if config.patchSize > 1 { y = try VAERearrange.unpatchify(y, patch: config.patchSize) }
                let t = y.shape[1], src = y.data
                for c in 0..<3 { for k in 0..<t { for r in 0..<ph {
                    let d = dst + (c * frames + t0 + k) * plane + (y0 * s + r) * width + x0 * s
                    let sp = src + ((c * t + k) * ph + r) * pw, wp = r * pw
                    for j in 0..<pw { d[j] += sp[j] * weight[wp + j] }
                } } }
                t0 += t
            }
        } }
        for ct in 0..<(3 * frames) {
            let p = dst + ct * plane
            for i in 0..<plane { p[i] /= weightSum[i] }
        }
        clampInPlace(out)
        return out
    }

    /// Weight of an output pixel `distance` pixels from a tile's inner edge across an overlap of
    /// `ramp` pixels: nothing from the outer quarter (whose receptive field the tile cuts off),
    /// then a linear ramp to 1 at three quarters. Never exactly 0, so a pixel only one tile covers
    /// keeps that tile's value.
    static func blendWeight(_ distance: Int, ramp: Int) -> Float {
        let margin = ramp / 4
        return Swift.min(1, Swift.max(1e-6, Float(distance + 1 - margin) / Float(ramp - 2 * margin + 1)))
    }
}
