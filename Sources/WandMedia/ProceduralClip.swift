import Foundation
/// Deterministic natural-looking test clips (gradients + multi-octave value noise + moving texture),
/// for tests and benchmarks: encoders and watermarks behave on these as on real footage, unlike flat colour.
public enum ProceduralClip {
    public static func make(seed: UInt64, width: Int, height: Int, frames: Int, fps: Int = 16) -> VideoFrames {
        var rng = SplitMix(seed)
        let octaves = 4
        // Lattices of random values per octave and channel.
        var lattices: [[Float]] = []
        let latticeSize = 34
        for _ in 0..<(octaves * 3) {
            lattices.append((0..<(latticeSize * latticeSize)).map { _ in rng.nextFloat() })
        }
        let baseColor = (0..<3).map { _ in 60 + 120 * rng.nextFloat() }
        let gradAngle = rng.nextFloat() * 6.283
        let drift = (rng.nextFloat() * 2 - 1, rng.nextFloat() * 2 - 1)
        let stripeFreq = 0.05 + 0.2 * rng.nextFloat()
        var out: [RGBFrame] = []
        for f in 0..<frames {
            var px = [UInt8](repeating: 0, count: width * height * 3)
            let shiftX = Float(f) * drift.0 * 1.5, shiftY = Float(f) * drift.1 * 1.5
            for y in 0..<height {
                for x in 0..<width {
                    let fx = Float(x) + shiftX, fy = Float(y) + shiftY
                    let g = (cos(gradAngle) * Float(x) / Float(width) + sin(gradAngle) * Float(y) / Float(height)) * 60
                    let stripes = 18 * sin(fx * stripeFreq + 0.3 * sin(fy * 0.07))
                    for c in 0..<3 {
                        var noise: Float = 0, amp: Float = 50, scale: Float = 1.0 / 48
                        for o in 0..<octaves {
                            noise += amp * (valueNoise(lattices[o * 3 + c], latticeSize, fx * scale, fy * scale) - 0.5)
                            amp *= 0.55
                            scale *= 2.1
                        }
                        let v = baseColor[c] + g + noise + stripes * (c == 1 ? 0.6 : 1)
                        px[(y * width + x) * 3 + c] = UInt8(max(0, min(255, v.rounded())))
                    }
                }
            }
            out.append(RGBFrame(width: width, height: height, pixels: px))
        }
        return VideoFrames(frames: out, fps: fps)
    }

    private static func valueNoise(_ lattice: [Float], _ n: Int, _ x: Float, _ y: Float) -> Float {
        let xf = x - x.rounded(.down), yf = y - y.rounded(.down)
        let xi = ((Int(x.rounded(.down)) % (n - 1)) + (n - 1)) % (n - 1)
        let yi = ((Int(y.rounded(.down)) % (n - 1)) + (n - 1)) % (n - 1)
        let sx = xf * xf * (3 - 2 * xf), sy = yf * yf * (3 - 2 * yf)
        let a = lattice[yi * n + xi], b = lattice[yi * n + xi + 1]
        let c = lattice[(yi + 1) * n + xi], d = lattice[(yi + 1) * n + xi + 1]
        return (a + (b - a) * sx) * (1 - sy) + (c + (d - c) * sx) * sy
    }
}

/// Small deterministic generator (SplitMix64).
public struct SplitMix: Sendable {
    private var state: UInt64
    public init(_ seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
