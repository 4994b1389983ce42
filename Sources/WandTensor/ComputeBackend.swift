// What the models compute with. Models hold a `any ComputeBackend` and call these ops only: the
// CPU backend (OpenBLAS) and the Vulkan backend (results resident on the device) run the same
// model code. Shapes follow one sample, no batch:
// token streams are [L, features], attention operands [L, heads, headDim], video tensors
// [C, T, H, W], images [C, H, W]. Weights are [out, in] like PyTorch stores them.
public enum GELUApproximation: Sendable { case none, tanh }

public enum InterpolationMode: Sendable, Equatable {
    case nearest, nearestExact, area
    case bilinear(alignCorners: Bool)
    case bicubic(alignCorners: Bool)
}

/// Zero padding of a 3-D convolution, per side.
public struct Conv3DPadding: Sendable, Equatable {
    public var timeFront, timeBack, top, bottom, left, right: Int
    public init(timeFront: Int, timeBack: Int, top: Int, bottom: Int, left: Int, right: Int) {
        self.timeFront = timeFront; self.timeBack = timeBack
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }
    public static let none = Conv3DPadding(timeFront: 0, timeBack: 0, top: 0, bottom: 0, left: 0, right: 0)
    /// Wan's CausalConv3d: the temporal padding `2·t` goes to the front only, spatial stays symmetric.
    public static func causal(time t: Int, height h: Int, width w: Int) -> Conv3DPadding {
        Conv3DPadding(timeFront: 2 * t, timeBack: 0, top: h, bottom: h, left: w, right: w)
    }
    public static func symmetric(time t: Int, height h: Int, width w: Int) -> Conv3DPadding {
        Conv3DPadding(timeFront: t, timeBack: t, top: h, bottom: h, left: w, right: w)
    }
}

public protocol ComputeBackend: Sendable {
    /// Frees the scratch buffers kept between calls (conv planes and weights); models call it when
    /// a decode or encode ends.
    func releaseScratch()
    var name: String { get }
    /// Waits until all work handed to the backend has run (a device backend queues it; the CPU
    /// backend computes synchronously). Benchmarks call it before they stop the clock.
    func synchronize() throws

    // Dense algebra
    /// [M, K] · [K, N] -> [M, N].
    func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor
    /// x [..., in] · weightᵀ [out, in] + bias [out] -> [..., out].
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor
    /// Same with a stored (bf16/f16/fp8/f32) weight, widened panel by panel.
    func linear(_ x: Tensor, weight: StoredTensor, bias: Tensor?) throws -> Tensor

    // Normalizations (all over f32, eps as given)
    /// LayerNorm over the last dim; weight/bias optional (no affine when nil).
    func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor
    /// x · rsqrt(mean(x²) + eps) · weight over the last dim (DiT q/k norm over all heads, T5).
    func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) throws -> Tensor
    /// VAE RMS_norm over dim 0 (channels) of [C, ...]: x / max(‖x‖₂, 1e-12) · √C · gamma (+ bias);
    /// gamma and bias have C elements.
    func channelRMSNorm(_ x: Tensor, gamma: Tensor, bias: Tensor?) throws -> Tensor
    /// GroupNorm of [C, ...] in `groups` groups, affine optional.
    func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) throws -> Tensor
    /// The DiT's adaLN: LayerNorm of x [L, d] without affine, then `y·(1 + table[u, scale]) +
    /// table[u, shift]` with `table` [U, chunks, d] and u = rows[r] for token r (`rows`: [L] row
    /// numbers stored as floats; nil: every token uses row 0).
    func modulatedLayerNorm(_ x: Tensor, table: Tensor, shift: Int, scale: Int, rows: Tensor?, eps: Float) throws -> Tensor
    /// The DiT's gated residual: `x + delta · table[u, gate]` (table and rows as above).
    func gatedAdd(_ x: Tensor, _ delta: Tensor, table: Tensor, gate: Int, rows: Tensor?) throws -> Tensor

    // Elementwise
    func softmax(_ x: Tensor) throws -> Tensor
    func gelu(_ x: Tensor, approximation: GELUApproximation) -> Tensor
    func silu(_ x: Tensor) -> Tensor
    /// a + b with PyTorch broadcasting.
    func add(_ a: Tensor, _ b: Tensor) throws -> Tensor
    /// a · b with PyTorch broadcasting.
    func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor
    /// a − b with PyTorch broadcasting.
    func sub(_ a: Tensor, _ b: Tensor) throws -> Tensor
    /// a / b with PyTorch broadcasting.
    func div(_ a: Tensor, _ b: Tensor) throws -> Tensor
    /// x · scale + shift with scalar scale and shift.
    func affine(_ x: Tensor, scale: Float, shift: Float) -> Tensor
    func clamp(_ x: Tensor, lower: Float, upper: Float) -> Tensor

    // Attention and positions
    /// softmax(q·kᵀ·scale + bias)·v per head, tiled over keys with an online softmax.
    /// q [Lq, H, D], k and v [Lk, H, D], bias [H, Lq, Lk] or nil; scale nil = 1/√D.
    func attention(q: Tensor, k: Tensor, v: Tensor, scale: Float?, bias: Tensor?) throws -> Tensor
    /// Wan 3-D RoPE (spec §2.5) on x [frames·height·width, H, D], tokens in (t, i, j) order.
    func rope3D(_ x: Tensor, frames: Int, height: Int, width: Int, theta: Double) throws -> Tensor
    /// The same with an explicit (f, h, w) per token, negative positions allowed (S2V).
    func rope3D(_ x: Tensor, positions: [RoPEPosition], theta: Double) throws -> Tensor

    // Convolutions and resampling
    /// x [Cin, T, H, W], weight [Cout, Cin, kt, kh, kw] -> [Cout, T', H', W'].
    func conv3d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int, Int),
                padding: Conv3DPadding) throws -> Tensor
    /// x [Cin, T], weight [Cout, Cin/groups, k], zero padding (left, right) -> [Cout, T'].
    func conv1d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: (left: Int, right: Int),
                groups: Int) throws -> Tensor
    /// x [Cin, H, W], weight [Cout, Cin, kh, kw], symmetric zero padding.
    func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int),
                padding: (Int, Int)) throws -> Tensor
    /// torch.nn.functional.interpolate on the last two dims of [..., H, W].
    func interpolate(_ x: Tensor, height: Int, width: Int, mode: InterpolationMode) throws -> Tensor
}

extension ComputeBackend {
    /// conv2d is conv3d over one frame on every backend: the same kernels, nothing to keep twice.
    public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int),
                       padding: (Int, Int)) throws -> Tensor {
        guard x.rank == 3, weight.rank == 4 else {
            throw TensorError.shapeMismatch(op: "conv2d", detail: "x \(x.shape), weight \(weight.shape)")
        }
        let x3 = try x.reshaped([x.shape[0], 1, x.shape[1], x.shape[2]])
        let w3 = try weight.reshaped([weight.shape[0], weight.shape[1], 1, weight.shape[2], weight.shape[3]])
        let y = try conv3d(x3, weight: w3, bias: bias, stride: (1, stride.0, stride.1),
                           padding: Conv3DPadding(timeFront: 0, timeBack: 0, top: padding.0, bottom: padding.0,
                                                  left: padding.1, right: padding.1))
        return try y.reshaped([y.shape[0], y.shape[2], y.shape[3]])
    }
}
