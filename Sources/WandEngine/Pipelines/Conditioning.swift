// The small tensors that tell a Wan model what is fixed and what is generated
// (shared/reference/wan-architecture.md 2.8, 7.1, 7.2, 8.3). Layouts are channel-first
// [C, F, H, W] in latent units, flattened row-major.

public enum Conditioning {
    /// I2V-A14B: the mask concatenated before the image latent, one channel per pixel frame of
    /// a latent frame (the VAE's temporal factor: 4 in the published VAEs). Latent frame 0 (the
    /// image) has all channels 1, every later frame 0.
    public static func i2vMask(latentFrames: Int, height: Int, width: Int, channels: Int = 4) -> [Float] {
        let plane = height * width
        var mask = [Float](repeating: 0, count: channels * latentFrames * plane)
        for c in 0..<channels {
            let base = c * latentFrames * plane
            for k in 0..<plane { mask[base + k] = 1 }
        }
        return mask
    }

    /// TI2V-5B: one timestep per DiT token (token grid F x H/2 x W/2, row-major). In
    /// image-to-video mode the tokens of latent frame 0 get t = 0 (the image is clean).
    public static func perTokenTimesteps(latentFrames: Int, latentHeight: Int, latentWidth: Int,
                                         timestep: Double, firstFrameIsImage: Bool) -> [Double] {
        let perFrame = (latentHeight / 2) * (latentWidth / 2)
        var t = [Double](repeating: timestep, count: latentFrames * perFrame)
        if firstFrameIsImage {
            for k in 0..<perFrame { t[k] = 0 }
        }
        return t
    }

    /// Video-to-video (diffusers WanVideoToVideoPipeline with a flow scheduler's add_noise):
    /// the encoded source is partly re-noised to the first kept sigma: (1 - s) * z + s * noise.
    public static func renoised(latent z: [Float], noise: [Float], sigma: Float) -> [Float] {
        precondition(z.count == noise.count, "latent and noise differ in size")
        let alpha = 1 - sigma
        var out = [Float](repeating: 0, count: z.count)
        for k in 0..<z.count { out[k] = alpha * z[k] + sigma * noise[k] }
        return out
    }
}
