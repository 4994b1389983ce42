import WandTensor

/// The audio conditioning of one S2V job: every wav2vec2 hidden state, resampled from 50 to 30
/// frames a second and sampled at each video frame (`AudioEncoder.extract_audio_feat` and
/// `get_audio_embed_bucket_fps` of the official code, next-modes §A.3). `frames` is
/// `[clips·framesPerClip, layers, dim]`, video-frame major; frames past the audio are zeros.
public struct S2VAudioEmbedding: Sendable {
    public let frames: Tensor
    /// Clips the audio asks for: int(T30 / (framesPerClip · 30 / fps)) + 1 (the +1 always adds one).
    public let clips: Int
    public let framesPerClip: Int
    /// Length of the 30 Hz feature sequence.
    public let featureFrames: Int

    public var layers: Int { frames.shape[1] }
    public var dim: Int { frames.shape[2] }

    /// Clip `r`'s `[framesPerClip, layers, dim]` (the official `audio_emb[..., 80r : 80r+80]`).
    public func clip(_ r: Int) throws -> Tensor {
        guard r >= 0, r < clips else { throw ModelError.badInput(argument: "clip", detail: "\(r) of \(clips)") }
        return try frames.sliced(dim: 0, (r * framesPerClip)..<((r + 1) * framesPerClip)).contiguous()
    }
}

public enum S2VAudioFeatures {
    /// Feature rate the official code assumes for wav2vec2 (50 Hz) and resamples to (30 Hz).
    public static let encoderRate = 50
    public static let featureRate = 30

    /// wav2vec2 on 16 kHz mono samples -> the job's embedding. `fps` is the video rate (16).
    public static func embed(samples: [Float], encoder: Wav2Vec2Encoder, framesPerClip: Int, fps: Int) throws -> S2VAudioEmbedding {
        guard framesPerClip > 0, fps > 0 else {
            throw ModelError.badInput(argument: "framesPerClip", detail: "\(framesPerClip) frames per clip at \(fps) fps")
        }
        var layers: [Tensor] = []
        try encoder.forEachHiddenState(Wav2Vec2Encoder.normalize(samples)) { _, state in
            layers.append(try interpolate(state, to: interpolatedLength(state.shape[0])))
        }
        return try buckets(layers, framesPerClip: framesPerClip, fps: fps)
    }

    /// `linear_interpolation(feat, 50, 30)`: int(T / 50.0 · 30) frames.
    public static func interpolatedLength(_ frames: Int) -> Int {
        Int(Double(frames) / Double(encoderRate) * Double(featureRate))
    }

    /// `F.interpolate(mode='linear', align_corners=True)` along time of `[T, D]` -> `[n, D]`, with
    /// PyTorch's float source index (scale (T−1)/(n−1), floor, weights λ and 1−λ).
    public static func interpolate(_ x: Tensor, to n: Int) throws -> Tensor {
        guard x.rank == 2, x.shape[0] >= 1, n >= 1 else {
            throw ModelError.badInput(argument: "features", detail: "shape \(x.shape) to \(n) frames")
        }
        let t = x.shape[0], d = x.shape[1]
        let src = x.contiguous()
        let out = Tensor(uninitialized: [n, d])
        let scale: Float = n > 1 ? Float(t - 1) / Float(n - 1) : 0
        for i in 0..<n {
            let real = scale * Float(i)
            let i0 = min(Int(real), t - 1)
            let i1 = i0 < t - 1 ? i0 + 1 : i0
            let l1 = min(max(real - Float(i0), 0), 1), l0 = 1 - l1
            let a = src.data + i0 * d, b = src.data + i1 * d, o = out.data + i * d
            for k in 0..<d { o[k] = l0 * a[k] + l1 * b[k] }
        }
        return out
    }

    /// The 30 Hz index each video frame takes: round-half-even(i / fps · 30) as numpy computes it
    /// (`get_sample_indices` with `fixed_start=0`), or nil past the audio (a zero frame).
    public static func bucketIndex(_ i: Int, fps: Int, featureFrames: Int, totalFrames: Int) -> Int? {
        // np.linspace(0, n/fps, n, endpoint=False)[i] = i·((n/fps)/n), then ·30, rounded half to even.
        let n = Double(totalFrames)
        let time = Double(i) * ((n / Double(fps)) / n)
        let padded = Int((n / Double(fps) * Double(featureRate)).rounded(.up))
        let index = min(max(Int((time * Double(featureRate)).rounded(.toNearestOrEven)), 0), max(padded - 1, 0))
        return index < featureFrames ? index : nil
    }

    /// Stacks the layers at each video frame's index. `layers`: per hidden state `[T30, D]`.
    public static func buckets(_ layers: [Tensor], framesPerClip: Int, fps: Int) throws -> S2VAudioEmbedding {
        guard let first = layers.first, first.rank == 2, layers.allSatisfy({ $0.shape == first.shape }) else {
            throw ModelError.badInput(argument: "features", detail: "expected equal [T, D] layers")
        }
        let t30 = first.shape[0], d = first.shape[1], l = layers.count
        let featuresPerClip = Double(framesPerClip) * (Double(featureRate) / Double(fps))
        let clips = Int(Double(t30) / featuresPerClip) + 1
        let total = clips * framesPerClip
        let out = Tensor(zeros: [total, l, d])
        let contiguous = layers.map { $0.contiguous() }
        for i in 0..<total {
            guard let index = bucketIndex(i, fps: fps, featureFrames: t30, totalFrames: total) else { continue }
            for (j, layer) in contiguous.enumerated() {
                (out.data + (i * l + j) * d).update(from: layer.data + index * d, count: d)
            }
        }
        return S2VAudioEmbedding(frames: out, clips: clips, framesPerClip: framesPerClip, featureFrames: t30)
    }
}
