import Glibc
import WandTensor

/// The LIA motion encoder of Wan-Animate (`wan/modules/animate/motion_encoder.py` Generator.get_motion,
/// diffusers WanAnimateMotionEncoder): a StyleGAN-style conv encoder of one face crop in [−1, 1]
/// to a style vector, five linears to `motionDim` coefficients, and a projection on orthonormal
/// directions (the Q of the QR decomposition of a learned matrix). Its weights are small (22.7 M
/// for 512² faces) and are widened to f32 once, with the equalized-lr scales folded in.
struct AnimateMotionEncoder: Sendable {
    struct Conv: Sendable {
        var weight: Tensor     // [out, in, k, k], times 1/√(in·k·k)
        var bias: Tensor?      // the fused leaky ReLU's bias, when the layer activates
        var stride: Int
        var padding: Int
        var blurPadding: Int?  // a [1,3,3,1] blur with this zero padding runs first (downsampling layers)
    }

    let size: Int
    let convIn: Conv
    let blocks: [(conv1: Conv, conv2: Conv, skip: Conv)]
    let convOut: Conv
    let linears: [(weight: Tensor, bias: Tensor)]
    /// `[motionEncoderDim, motionDim]`, orthonormal columns.
    let directions: [Float]
    let motionDim: Int

    init(config c: WanAnimateConfig, weights w: ModelWeights) throws {
        func conv(_ name: String, bias: String?, k: Int, stride: Int = 1, padding: Int = 0, blur: Int? = nil) throws -> Conv {
            let t = try w.widenedCopy(name)  // the equalized-lr scale is folded in below
            let fanIn = t.shape[1] * k * k
            let s = 1 / Float(fanIn).squareRoot()
            for i in 0..<t.count { t.data[i] *= s }
            return Conv(weight: t, bias: try bias.map { try w.widened($0).reshaped([-1]) }, stride: stride, padding: padding,
                        blurPadding: blur)
        }
        let m = "motion_encoder.enc.net_app.convs."
        size = c.motionEncoderSize
        convIn = try conv(m + "0.0.weight", bias: m + "0.1.bias", k: 1)
        var blocks: [(Conv, Conv, Conv)] = []
        for i in 1...c.motionResolutions.count {
            let b = m + "\(i)."
            // Blur padding as ConvLayer(downsample=True) computes it: p = (4 − 2) + (k − 1), split (p+1)/2, p/2.
            blocks.append((try conv(b + "conv1.0.weight", bias: b + "conv1.1.bias", k: 3, padding: 1),
                           try conv(b + "conv2.1.weight", bias: b + "conv2.2.bias", k: 3, stride: 2, blur: 2),
                           try conv(b + "skip.1.weight", bias: nil, k: 1, stride: 2, blur: 1)))
        }
        self.blocks = blocks
        convOut = try conv(m + "\(c.motionResolutions.count + 1).weight", bias: nil, k: 4)
        var linears: [(Tensor, Tensor)] = []
        for i in 0..<5 {
            let t = try w.widenedCopy("motion_encoder.enc.fc.\(i).weight")
            let s = 1 / Float(t.shape[1]).squareRoot()
            for j in 0..<t.count { t.data[j] *= s }
            linears.append((t, try w.widened("motion_encoder.enc.fc.\(i).bias")))
        }
        self.linears = linears
        let direction = try w.widened("motion_encoder.dec.direction.weight")
        directions = Self.orthonormalColumns(direction.array.map { $0 + 1e-8 }, rows: direction.shape[0], columns: direction.shape[1])
        motionDim = direction.shape[1]
    }

    /// One face crop `[3, size, size]` in [−1, 1] -> its motion vector (`motionEncoderDim` values).
    func motion(_ face: Tensor, backend: any ComputeBackend) throws -> [Float] {
        var h = try apply(convIn, face, backend)
        for (conv1, conv2, skip) in blocks {
            let main = try apply(conv2, try apply(conv1, h, backend), backend)
            let side = try apply(skip, h, backend)
            let r: Float = 1 / Float(2).squareRoot()
            for i in 0..<main.count { main.data[i] = (main.data[i] + side.data[i]) * r }
            h = main
        }
        var feature = try apply(convOut, h, backend).reshaped([1, -1])  // [1, style]
        for (w, b) in linears { feature = try backend.linear(feature, weight: w, bias: b) }
        // Σ_i feature[i] · Q[:, i]
        let rows = directions.count / motionDim
        var out = [Float](repeating: 0, count: rows)
        for j in 0..<rows {
            var acc: Float = 0
            for i in 0..<motionDim { acc += feature.data[i] * directions[j * motionDim + i] }
            out[j] = acc
        }
        return out
    }

    func apply(_ c: Conv, _ x: Tensor, _ backend: any ComputeBackend) throws -> Tensor {
        var x = x
        if let p = c.blurPadding { x = Self.blur(x, padding: p) }
        let y = try backend.conv2d(x, weight: c.weight, bias: nil, stride: (c.stride, c.stride), padding: (c.padding, c.padding))
        guard let bias = c.bias else { return y }
        // FusedLeakyReLU: leaky_relu(x + b, 0.2) · √2, per channel.
        let plane = y.count / y.shape[0], gain = Float(2).squareRoot()
        for ch in 0..<y.shape[0] {
            let b = bias.data[ch], p = y.data + ch * plane
            for i in 0..<plane { let v = p[i] + b; p[i] = (v >= 0 ? v : 0.2 * v) * gain }
        }
        return y
    }

    /// upfirdn2d with the normalized [1,3,3,1]⊗[1,3,3,1] kernel, zero padding `padding` on every
    /// side, no up/down-sampling: `[C, H, W]` -> `[C, H + 2p − 3, W + 2p − 3]`. The kernel is
    /// separable ((k/8)⊗(k/8)); both passes run in f32.
    static func blur(_ x: Tensor, padding p: Int) -> Tensor {
        let x = x.contiguous()
        let c = x.shape[0], h = x.shape[1], w = x.shape[2]
        let oh = h + 2 * p - 3, ow = w + 2 * p - 3
        let k: [Float] = [0.125, 0.375, 0.375, 0.125]
        let mid = Tensor(zeros: [c, h, ow]), out = Tensor(uninitialized: [c, oh, ow])
        for ch in 0..<c {
            let src = x.data + ch * h * w, m = mid.data + ch * h * ow, o = out.data + ch * oh * ow
            for y in 0..<h {
                for xo in 0..<ow {
                    var acc: Float = 0
                    for t in 0..<4 {
                        let xi = xo + t - p
                        if xi >= 0 && xi < w { acc += k[t] * src[y * w + xi] }
                    }
                    m[y * ow + xo] = acc
                }
            }
            for yo in 0..<oh {
                for xo in 0..<ow {
                    var acc: Float = 0
                    for t in 0..<4 {
                        let yi = yo + t - p
                        if yi >= 0 && yi < h { acc += k[t] * m[yi * ow + xo] }
                    }
                    o[yo * ow + xo] = acc
                }
            }
        }
        return out
    }

    /// The Q of the reduced QR decomposition of `a` `[rows, columns]` (row-major) with LAPACK's
    /// Householder conventions (geqrf + orgqr, as torch.linalg.qr): reflector k maps column k to
    /// `−sign(a_kk)·‖·‖ e_k`, none when the column below the diagonal is zero. Computed in double.
    static func orthonormalColumns(_ a: [Float], rows m: Int, columns n: Int) -> [Float] {
        var r = a.map(Double.init)
        var vs: [[Double]] = [], taus: [Double] = []
        for k in 0..<n {
            let alpha = r[k * n + k]
            var xnorm = 0.0
            for i in (k + 1)..<m { xnorm += r[i * n + k] * r[i * n + k] }
            xnorm = xnorm.squareRoot()
            var v = [Double](repeating: 0, count: m)
            v[k] = 1
            guard xnorm != 0 else { vs.append(v); taus.append(0); continue }
            let beta = -((alpha * alpha + xnorm * xnorm).squareRoot()).magnitude * (alpha >= 0 ? 1 : -1)
            let tau = (beta - alpha) / beta
            for i in (k + 1)..<m { v[i] = r[i * n + k] / (alpha - beta) }
            // Apply H = I − τ v vᵀ to the remaining columns.
            for j in k..<n {
                var dot = 0.0
                for i in k..<m { dot += v[i] * r[i * n + j] }
                for i in k..<m { r[i * n + j] -= tau * v[i] * dot }
            }
            vs.append(v); taus.append(tau)
        }
        // Q = H_0 H_1 ... H_{n−1} applied to the first n columns of the identity.
        var q = [Double](repeating: 0, count: m * n)
        for j in 0..<n { q[j * n + j] = 1 }
        for k in stride(from: n - 1, through: 0, by: -1) where taus[k] != 0 {
            let v = vs[k]
            for j in 0..<n {
                var dot = 0.0
                for i in k..<m { dot += v[i] * q[i * n + j] }
                for i in k..<m { q[i * n + j] -= taus[k] * v[i] * dot }
            }
        }
        return q.map(Float.init)
    }
}
