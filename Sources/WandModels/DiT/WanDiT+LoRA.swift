import WandTensor

extension WanDiT {
    /// A new DiT whose weights are this one's with `loras` merged in; this one is unchanged (a
    /// warm model without LoRAs and one with them can share the mapped files).
    public func merging(_ loras: [LoRAApplication], precision: LoRAMergePrecision) throws -> (WanDiT, LoRAMergeReport) {
        let (merged, report) = try LoRAMerge.merge(weights, loras, precision: precision, backend: backend)
        return (WanDiT(config: config, checkedWeights: merged, backend: backend), report)
    }
}
