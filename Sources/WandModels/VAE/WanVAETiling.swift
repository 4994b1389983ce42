import WandTensor

/// Spatial tiling of the decoder for frames too large to decode whole. conv1 and the middle blocks
/// run on the whole frame (they work at latent resolution, so they are small, and the middle
/// attention must see the whole frame: tiling it is what limits diffusers' tiled decode to ~35 dB).
/// Their output is cut into overlapping tiles; each tile keeps its own causal caches through the
/// upsampling stages, one latent frame at a time like `decodeStreaming`, and the overlaps are
/// cross-faded. Only the convolutions' receptive fields are cut, so the result is within ~50 dB of
/// the untiled decode on a trained VAE (`VAETrainedTilingTests`).
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
    /// `decodeStreaming` with spatial tiles; emits the same pieces ([3, 1 or 4, H, W]).
    public func decodeTiledStreaming(_ latents: Tensor, tiling: VAETiling, emit: (Tensor) throws -> Void) throws {
        guard latents.rank == 4, latents.shape[0] == config.zDim, latents.shape[1] >= 1 else {
            throw VAEError.badInput(detail: "decode expects [\(config.zDim), F, h, w]; got \(latents.shape)")
        }
        guard tiling.overlap >= 0, tiling.tileHeight > tiling.overlap, tiling.tileWidth > tiling.overlap else {
            throw VAEError.badInput(detail: "tiling \(tiling): tiles must be larger than the overlap")
        }
        let h = latents.shape[2], w = latents.shape[3], s = version.spatialFactor
        let th = min(tiling.tileHeight, h), tw = min(tiling.tileWidth, w)
        let rows = tiling.origins(size: h, tile: th), cols = tiling.origins(size: w, tile: tw)
        let z = try denormalize(latents)
        let x = try layers.causalConv(z, "conv2", cache: nil)   // 1×1×1: commutes with tiling
        struct Tile { let y0: Int, x0: Int, cache: CausalCache, weight: [Float] }
        let ramp = tiling.overlap * s
        var tiles: [Tile] = []
        var weightSum = [Float](repeating: 0, count: h * s * w * s)
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
                weightSum[(y0 * s + i) * (w * s) + x0 * s + j] += v
            } }
            tiles.append(Tile(y0: y0, x0: x0, cache: CausalCache(), weight: weight))
        } }
        let plane = h * s * w * s
        let middleCache = CausalCache()
        for f in 0..<x.shape[1] {
            let frame = try decoderMiddle(try x.sliced(dim: 1, f..<(f + 1)).contiguous(), cache: middleCache)
            var out: Tensor? = nil
            for tile in tiles {
                let part = try frame.sliced(dim: 2, tile.y0..<(tile.y0 + th)).sliced(dim: 3, tile.x0..<(tile.x0 + tw)).contiguous()
                var y = try decoderUpsampling(part, cache: tile.cache, firstChunk: f == 0)
                if version == .wan22 { y = try VAERearrange.unpatchify(y) }
                let c = y.shape[0], t = y.shape[1], ph = y.shape[2], pw = y.shape[3]
                if out == nil { out = Tensor(zeros: [c, t, h * s, w * s]) }
                let dst = out!.data, src = y.data
                for ct in 0..<(c * t) { for i in 0..<ph {
                    let d = dst + ct * plane + (tile.y0 * s + i) * (w * s) + tile.x0 * s
                    let sp = src + (ct * ph + i) * pw
                    for j in 0..<pw { d[j] += sp[j] * tile.weight[i * pw + j] }
                } }
            }
            let result = out!
            let p = result.data
            for ct in 0..<(result.count / plane) { for i in 0..<plane { p[ct * plane + i] /= weightSum[i] } }
            clampInPlace(result)
            try emit(result)
        }
    }

    /// Weight of an output pixel `distance` pixels from a tile's inner edge across an overlap of
    /// `ramp` pixels: nothing from the outer quarter (whose receptive field the tile cuts off),
    /// then a linear ramp to 1 at three quarters. Never exactly 0, so a pixel only one tile covers
    /// keeps that tile's value.
    static func blendWeight(_ distance: Int, ramp: Int) -> Float {
        let margin = ramp / 4
        return Swift.min(1, Swift.max(1e-6, Float(distance + 1 - margin) / Float(ramp - 2 * margin + 1)))
    }

    public func decodeTiled(_ latents: Tensor, tiling: VAETiling) throws -> Tensor {
        var frames: [Tensor] = []
        try decodeTiledStreaming(latents, tiling: tiling) { frames.append($0) }
        return frames.count == 1 ? frames[0] : try Tensor.concat(frames, dim: 1)
    }
}
