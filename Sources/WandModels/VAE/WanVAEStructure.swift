/// The blocks a `WanVAEConfig` builds, in forward order, each under its official (`WanVAE_`) and
/// its diffusers (`AutoencoderKLWan`) name, the way diffusers' WanEncoder3d / WanDecoder3d build
/// them: where a shortcut conv, an attention block, a resample or a stage shortcut exists depends
/// on the widths of consecutive stages and on the per-stage flags, never on published shapes.
public struct WanVAEStructure: Sendable, Equatable {
    public struct Block: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// ResidualBlock; a 1×1×1 shortcut conv exists when the widths differ.
            case residual(inDim: Int, outDim: Int)
            /// Single-head spatial attention (encoder stages at `attn_scales`, and the middles).
            case attention(dim: Int)
            /// downsample2d, or downsample3d when `temporal` (adds `time_conv`).
            case downsample(dim: Int, temporal: Bool)
            /// upsample2d, or upsample3d when `temporal`; `outDim` is dim/2 (2.1) or dim (2.2).
            case upsample(dim: Int, outDim: Int, temporal: Bool)
        }
        public let kind: Kind
        public let official: String
        public let diffusers: String
    }

    /// A Wan2.2 stage block's parameter-free shortcut (AvgDown3D in the encoder, DupUp3D in the decoder).
    public struct Shortcut: Sendable, Equatable {
        public let inDim: Int, outDim: Int, timeFactor: Int, spaceFactor: Int
    }

    public struct Stage: Sendable, Equatable {
        public var blocks: [Block] = []
        public var shortcut: Shortcut?
    }

    public let config: WanVAEConfig
    public let encoderStages: [Stage]
    public let decoderStages: [Stage]

    /// Encoder stage widths: dims = base·[1] + dim_mult.
    static func encoderWidths(_ c: WanVAEConfig) -> [(in: Int, out: Int)] {
        let dims = ([1] + c.dimMult).map { c.baseDim * $0 }
        return (0..<c.stages).map { (dims[$0], dims[$0 + 1]) }
    }

    /// Decoder stage widths: dims = dec_base·([dim_mult.last] + reversed dim_mult); in the 2.1 style
    /// every stage after the first receives the previous upsample's halved width.
    static func decoderWidths(_ c: WanVAEConfig) -> [(in: Int, out: Int)] {
        let dims = ([c.dimMult[c.stages - 1]] + c.dimMult.reversed()).map { c.decoderBaseDim * $0 }
        return (0..<c.stages).map { i in (i > 0 && !c.isResidual ? dims[i] / 2 : dims[i], dims[i + 1]) }
    }

    public var encoderMiddleDim: Int { config.baseDim * config.dimMult[config.stages - 1] }
    public var decoderMiddleDim: Int { config.decoderBaseDim * config.dimMult[config.stages - 1] }
    public var decoderOutDim: Int { config.decoderBaseDim * config.dimMult[0] }

    public init(_ c: WanVAEConfig) {
        config = c
        var encoder: [Stage] = []
        var flat = 0          // 2.1 style: one flat list of blocks (same index in both layouts)
        var scale = 1.0
        for (i, w) in Self.encoderWidths(c).enumerated() {
            var stage = Stage()
            var width = w.in
            let temporal = c.encoderStageDownsamplesTime(i)
            for j in 0..<c.numResBlocks {
                if c.isResidual {
                    stage.blocks.append(Block(kind: .residual(inDim: width, outDim: w.out),
                                              official: "encoder.downsamples.\(i).downsamples.\(j)",
                                              diffusers: "encoder.down_blocks.\(i).resnets.\(j)"))
                } else {
                    stage.blocks.append(Block(kind: .residual(inDim: width, outDim: w.out),
                                              official: "encoder.downsamples.\(flat)", diffusers: "encoder.down_blocks.\(flat)"))
                    flat += 1
                    if c.attnScales.contains(scale) {
                        stage.blocks.append(Block(kind: .attention(dim: w.out),
                                                  official: "encoder.downsamples.\(flat)", diffusers: "encoder.down_blocks.\(flat)"))
                        flat += 1
                    }
                }
                width = w.out
            }
            if c.stageResamples(i) {
                let kind = Block.Kind.downsample(dim: w.out, temporal: temporal)
                if c.isResidual {
                    stage.blocks.append(Block(kind: kind, official: "encoder.downsamples.\(i).downsamples.\(c.numResBlocks)",
                                              diffusers: "encoder.down_blocks.\(i).downsampler"))
                } else {
                    stage.blocks.append(Block(kind: kind, official: "encoder.downsamples.\(flat)", diffusers: "encoder.down_blocks.\(flat)"))
                    flat += 1
                    scale /= 2
                }
            }
            if c.isResidual {
                stage.shortcut = Shortcut(inDim: w.in, outDim: w.out, timeFactor: temporal ? 2 : 1,
                                          spaceFactor: c.stageResamples(i) ? 2 : 1)
            }
            encoder.append(stage)
        }
        encoderStages = encoder

        var decoder: [Stage] = []
        flat = 0
        for (i, w) in Self.decoderWidths(c).enumerated() {
            var stage = Stage()
            var width = w.in
            let temporal = c.decoderStageUpsamplesTime(i)
            for j in 0...c.numResBlocks {
                let official = c.isResidual ? "decoder.upsamples.\(i).upsamples.\(j)" : "decoder.upsamples.\(flat)"
                stage.blocks.append(Block(kind: .residual(inDim: width, outDim: w.out), official: official,
                                          diffusers: "decoder.up_blocks.\(i).resnets.\(j)"))
                if !c.isResidual { flat += 1 }
                width = w.out
            }
            if c.stageResamples(i) {
                if c.isResidual {
                    stage.blocks.append(Block(kind: .upsample(dim: w.out, outDim: w.out, temporal: temporal),
                                              official: "decoder.upsamples.\(i).upsamples.\(c.numResBlocks + 1)",
                                              diffusers: "decoder.up_blocks.\(i).upsampler"))
                    stage.shortcut = Shortcut(inDim: w.in, outDim: w.out, timeFactor: temporal ? 2 : 1, spaceFactor: 2)
                } else {
                    stage.blocks.append(Block(kind: .upsample(dim: w.out, outDim: w.out / 2, temporal: temporal),
                                              official: "decoder.upsamples.\(flat)", diffusers: "decoder.up_blocks.\(i).upsamplers.0"))
                    flat += 1
                }
            }
            decoder.append(stage)
        }
        decoderStages = decoder
    }

    // MARK: parameters

    /// One parameter: its official name, its diffusers name and its shape.
    public struct Parameter: Sendable, Equatable {
        public let official: String, diffusers: String, shape: [Int]
    }

    /// Every parameter the structure has, in forward order.
    public var parameters: [Parameter] {
        let c = config
        var out: [Parameter] = []
        func add(_ official: String, _ diffusers: String, _ shape: [Int]) {
            out.append(Parameter(official: official, diffusers: diffusers, shape: shape))
        }
        func conv(_ o: String, _ d: String, _ shape: [Int]) {
            add(o + ".weight", d + ".weight", shape)
            add(o + ".bias", d + ".bias", [shape[0]])
        }
        func block(_ kind: Block.Kind, _ o: String, _ d: String) {
            switch kind {
            case let .residual(i, n):
                add(o + ".residual.0.gamma", d + ".norm1.gamma", [i, 1, 1, 1])
                conv(o + ".residual.2", d + ".conv1", [n, i, 3, 3, 3])
                add(o + ".residual.3.gamma", d + ".norm2.gamma", [n, 1, 1, 1])
                conv(o + ".residual.6", d + ".conv2", [n, n, 3, 3, 3])
                if i != n { conv(o + ".shortcut", d + ".conv_shortcut", [n, i, 1, 1, 1]) }
            case let .attention(n):
                add(o + ".norm.gamma", d + ".norm.gamma", [n, 1, 1])
                conv(o + ".to_qkv", d + ".to_qkv", [3 * n, n, 1, 1])
                conv(o + ".proj", d + ".proj", [n, n, 1, 1])
            case let .downsample(n, temporal):
                conv(o + ".resample.1", d + ".resample.1", [n, n, 3, 3])
                if temporal { conv(o + ".time_conv", d + ".time_conv", [n, n, 3, 1, 1]) }
            case let .upsample(n, m, temporal):
                conv(o + ".resample.1", d + ".resample.1", [m, n, 3, 3])
                if temporal { conv(o + ".time_conv", d + ".time_conv", [2 * n, n, 3, 1, 1]) }
            }
        }
        func middle(_ side: String, _ n: Int) {
            block(.residual(inDim: n, outDim: n), "\(side).middle.0", "\(side).mid_block.resnets.0")
            block(.attention(dim: n), "\(side).middle.1", "\(side).mid_block.attentions.0")
            block(.residual(inDim: n, outDim: n), "\(side).middle.2", "\(side).mid_block.resnets.1")
        }
        let e = encoderMiddleDim, d0 = decoderMiddleDim, dl = decoderOutDim
        conv("encoder.conv1", "encoder.conv_in", [c.baseDim, c.inChannels, 3, 3, 3])
        for stage in encoderStages { for b in stage.blocks { block(b.kind, b.official, b.diffusers) } }
        middle("encoder", e)
        add("encoder.head.0.gamma", "encoder.norm_out.gamma", [e, 1, 1, 1])
        conv("encoder.head.2", "encoder.conv_out", [2 * c.zDim, e, 3, 3, 3])
        conv("conv1", "quant_conv", [2 * c.zDim, 2 * c.zDim, 1, 1, 1])
        conv("conv2", "post_quant_conv", [c.zDim, c.zDim, 1, 1, 1])
        conv("decoder.conv1", "decoder.conv_in", [d0, c.zDim, 3, 3, 3])
        middle("decoder", d0)
        for stage in decoderStages { for b in stage.blocks { block(b.kind, b.official, b.diffusers) } }
        add("decoder.head.0.gamma", "decoder.norm_out.gamma", [dl, 1, 1, 1])
        conv("decoder.head.2", "decoder.conv_out", [c.outChannels, dl, 3, 3, 3])
        return out
    }
}
