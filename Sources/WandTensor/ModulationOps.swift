// The DiT's per-token adaLN modulation (spec §2.4) on the CPU: the same arithmetic the DiT did
// in place before it moved behind the backend (LayerNorm, then y·(1 + scale) + shift; x + δ·gate).
extension CPUBackend {
    public func modulatedLayerNorm(_ x: Tensor, table: Tensor, shift: Int, scale: Int, rows: Tensor?,
                                   eps: Float) throws -> Tensor {
        let (d, chunks, rowTensor) = try Self.modulationLayout("modulatedLayerNorm", x, table, rows, Swift.max(shift, scale))
        let index = rowTensor.map { $0.storage.readPointer + $0.offset }
        let y = try layerNorm(x, weight: nil, bias: nil, eps: eps)
        let p = y.data, m = table.contiguous(), mp = m.storage.readPointer + m.offset
        parallelChunks(x.count / Swift.max(d, 1), threads: threads) { range in
            for r in range {
                let u = index.map { Int($0[r]) } ?? 0
                let row = p + r * d, sh = mp + (u * chunks + shift) * d, sc = mp + (u * chunks + scale) * d
                for k in 0..<d { row[k] = row[k] * (1 + sc[k]) + sh[k] }
            }
        }
        withExtendedLifetime((m, rowTensor)) {}
        return y
    }

    public func gatedAdd(_ x: Tensor, _ delta: Tensor, table: Tensor, gate: Int, rows: Tensor?) throws -> Tensor {
        let (d, chunks, rowTensor) = try Self.modulationLayout("gatedAdd", x, table, rows, gate)
        let index = rowTensor.map { $0.storage.readPointer + $0.offset }
        guard delta.shape == x.shape else {
            throw TensorError.shapeMismatch(op: "gatedAdd", detail: "x \(x.shape), delta \(delta.shape)")
        }
        let x = x.contiguous(), delta = delta.contiguous(), m = table.contiguous()
        let out = Tensor(uninitialized: x.shape)
        let xp = x.storage.readPointer + x.offset, dp = delta.storage.readPointer + delta.offset
        let mp = m.storage.readPointer + m.offset, op = out.data
        parallelChunks(x.count / Swift.max(d, 1), threads: threads) { range in
            for r in range {
                let u = index.map { Int($0[r]) } ?? 0
                let g = mp + (u * chunks + gate) * d
                for k in 0..<d { op[r * d + k] = xp[r * d + k] + dp[r * d + k] * g[k] }
            }
        }
        withExtendedLifetime((x, delta, m, rowTensor)) {}
        return out
    }

    /// d, chunks and the per-token row numbers, checked: x [L, d], table [U, chunks, d], rows [L]
    /// with values below U.
    static func modulationLayout(_ op: String, _ x: Tensor, _ table: Tensor, _ rows: Tensor?, _ chunk: Int) throws
        -> (Int, Int, Tensor?) {
        guard x.rank == 2, table.rank == 3, table.shape[2] == x.shape[1], chunk >= 0, chunk < table.shape[1] else {
            throw TensorError.shapeMismatch(op: op, detail: "x \(x.shape), table \(table.shape), chunk \(chunk)")
        }
        guard let rows else { return (x.shape[1], table.shape[1], nil) }
        guard rows.count == x.shape[0] else {
            throw TensorError.shapeMismatch(op: op, detail: "rows \(rows.shape) for \(x.shape[0]) tokens")
        }
        let r = rows.contiguous()
        let p = r.storage.readPointer + r.offset
        for i in 0..<r.count where !(p[i] >= 0 && Int(p[i]) < table.shape[0]) {
            throw TensorError.invalidArgument(op: op, detail: "row \(p[i]) of token \(i) outside the table's \(table.shape[0])")
        }
        return (x.shape[1], table.shape[1], r)
    }
}
