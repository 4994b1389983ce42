import WandTensor

/// A tensor owned in memory (a merged weight), freed with the last model that uses it.
final class OwnedWeight: @unchecked Sendable {
    // @unchecked: written once in init, read-only afterwards.
    let dtype: DType
    let shape: [Int]
    let bytes: UnsafeMutableRawBufferPointer

    /// `values` rounded to nearest-even into `dtype` (f32, bf16 or f16).
    init(_ values: UnsafePointer<Float>, count: Int, shape: [Int], dtype: DType) {
        precondition([.f32, .bf16, .f16].contains(dtype), "merged weights are f32, bf16 or f16")
        self.dtype = dtype
        self.shape = shape
        bytes = .allocate(byteCount: max(1, count * dtype.size), alignment: 64)
        switch dtype {
        case .f32:
            bytes.baseAddress!.assumingMemoryBound(to: Float.self).update(from: values, count: count)
        case .bf16:
            let out = bytes.baseAddress!.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = Self.bf16Bits(values[i]) }
        default:
            let out = bytes.baseAddress!.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = Float16(values[i]).bitPattern }
        }
    }

    deinit { bytes.deallocate() }

    /// f32 -> bf16, round to nearest even (what torch's `.to(torch.bfloat16)` does); NaN stays NaN.
    static func bf16Bits(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40) }
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }
}

/// One LoRA file applied with a strength.
public struct LoRAApplication: Sendable {
    public let file: LoRAFile
    public let strength: Float
    public init(file: LoRAFile, strength: Float) {
        self.file = file
        self.strength = strength
    }
}

/// In what dtype merged weights are kept.
public enum LoRAMergePrecision: String, Sendable, CaseIterable {
    /// The base tensor's dtype (f32 stays f32, bf16 and f16 stay themselves, fp8 becomes bf16):
    /// the model's memory stays what it was, and the merged weight is rounded once, as
    /// ComfyUI's merge rounds it.
    case stored
    /// f32 for every merged tensor: exact (what diffusers computes unfused), at up to twice the
    /// memory of a bf16/f16 model's merged tensors.
    case f32
}

/// What a merge did, for logs, the sidecar and the cache's memory budget.
public struct LoRAMergeReport: Sendable, Equatable {
    /// Parameters changed.
    public var mergedTensors = 0
    /// Their bytes now held in memory, and what the mapped originals took.
    public var ownedBytes = 0
    public var replacedMappedBytes = 0
    /// Stored keys of a Wan2.1 image branch skipped because this model has none.
    public var skippedImageBranchKeys: [String] = []
    public init() {}
}

/// Merges LoRAs into a model's weights at load: `W' = W + Σ strength · scale · (up · down | delta)`,
/// computed in f32 per parameter, so a denoising step afterwards costs exactly what it did.
/// Every key must land on a parameter of this model with the right shape; the ones that do not
/// are refused with their names (Wan2.1 image-branch keys on a model without one are skipped
/// and reported, as every other loader does).
public enum LoRAMerge {
    public static func merge(_ base: ModelWeights, _ loras: [LoRAApplication], precision: LoRAMergePrecision,
                             backend: any ComputeBackend) throws -> (ModelWeights, LoRAMergeReport) {
        var report = LoRAMergeReport()
        var byTarget: [String: [(LoRAContribution, Float, String)]] = [:]
        for lora in loras {
            var unmatched: [String] = []
            for c in lora.file.contributions {
                guard let shape = base.shape(c.target) else {
                    if lora.file.imageBranchKeys.contains(c.storedNames[0]) {
                        report.skippedImageBranchKeys += c.storedNames
                    } else {
                        unmatched += c.storedNames
                    }
                    continue
                }
                try check(c, against: shape, path: lora.file.path)
                byTarget[c.target, default: []].append((c, lora.strength, lora.file.path))
            }
            if !unmatched.isEmpty {
                throw LoRAError(path: lora.file.path, tensors: unmatched, .unmatchedKeys(unmatched))
            }
        }
        var replacements: [String: OwnedWeight] = [:]
        for target in byTarget.keys.sorted() {
            let w = try base.widenedCopy(target)  // f32, fp8 scale applied, ours to add into
            let rows = w.shape.first ?? 1, cols = w.count / max(rows, 1)
            for (c, strength, path) in byTarget[target]! {
                let k = strength * c.scale
                switch c.part {
                case let .lowRank(up, down):
                    let rank = down.shape[0]
                    let u = try widen(up, shape: [rows, rank], path: path)
                    let d = try widen(down, shape: [rank, cols], path: path)
                    let product = try backend.matmul(u, d)
                    addScaled(w.data, product.contiguous().data, k, count: w.count)
                case let .delta(t):
                    let d = try widen(t, shape: w.shape, path: path)
                    addScaled(w.data, d.data, k, count: w.count)
                }
            }
            let stored = base.dtype(target)!
            let keep: DType = precision == .f32 || stored == .f32 ? .f32 : (stored == .f16 ? .f16 : .bf16)
            let owned = OwnedWeight(w.data, count: w.count, shape: w.shape, dtype: keep)
            replacements[target] = owned
            report.mergedTensors += 1
            report.ownedBytes += owned.bytes.count
            report.replacedMappedBytes += w.count * stored.size
        }
        return (base.replacing(replacements), report)
    }

    static func check(_ c: LoRAContribution, against shape: [Int], path: String) throws(LoRAError) {
        let rows = shape.first ?? 1, cols = shape.reduce(1, *) / max(rows, 1)
        switch c.part {
        case let .lowRank(up, down):
            let downCols = down.elementCount / max(down.shape[0], 1)
            guard up.shape[0] == rows, shape.count >= 2 else {
                throw LoRAError(path: path, tensor: up.name, .badShape(expected: "[\(rows), rank] for \(c.target) \(shape)", actual: up.shape))
            }
            // A conv (patch_embedding) LoRA's down carries the kernel dims: compare flattened.
            guard downCols == cols, down.shape.count == 2 || Array(down.shape.dropFirst()) == Array(shape.dropFirst()) else {
                throw LoRAError(path: path, tensor: down.name, .badShape(expected: "[rank, \(cols)] for \(c.target) \(shape)", actual: down.shape))
            }
        case let .delta(t):
            guard t.elementCount == shape.reduce(1, *), t.shape.filter({ $0 != 1 }) == shape.filter({ $0 != 1 }) else {
                throw LoRAError(path: path, tensor: t.name, .badShape(expected: "\(shape) like \(c.target)", actual: t.shape))
            }
        }
    }

    static func widen(_ t: WeightTensor, shape: [Int], path: String) throws -> Tensor {
        let out = Tensor(uninitialized: shape)
        precondition(out.count == t.elementCount, "checked by LoRAMerge.check")
        do {
            try withExtendedLifetime(t.file) {
                try DTypeConversion.widen(t.dtype, from: t.bytes.baseAddress!, to: out.data, count: out.count)
            }
        } catch {
            throw LoRAError(path: path, tensor: t.name, .unsupported("dtype \(t.dtype.rawValue)"))
        }
        return out
    }

    /// w += k · x
    static func addScaled(_ w: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ k: Float, count: Int) {
        for i in 0..<count { w[i] += k * x[i] }
    }
}
