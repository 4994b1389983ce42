import CAV
import Foundation

public enum WatermarkCorner: String, Sendable, CaseIterable {
    case topLeft = "top-left", topRight = "top-right", bottomLeft = "bottom-left", bottomRight = "bottom-right"
}

/// The visible "AI generated" label. Sizes are fractions of the frame height, so a label looks the same at any size.
public struct VisibleWatermarkConfig: Sendable {
    public var text: String
    public var corner: WatermarkCorner
    /// Distance from the frame edges, as a fraction of the frame height.
    public var margin: Double
    /// 0 (invisible) ... 1 (opaque).
    public var opacity: Double
    /// Font size as a fraction of the frame height.
    public var scale: Double
    /// Optional logo PNG drawn in the corner, text beside it; its height is `scale * 1.4` of the frame height.
    public var logoPath: String?
    /// Use this font instead of the one picked by the text's script.
    public var fontPath: String?

    public init(text: String = "AI generated", corner: WatermarkCorner = .bottomRight, margin: Double = 0.03,
                opacity: Double = 0.8, scale: Double = 0.05, logoPath: String? = nil, fontPath: String? = nil) {
        self.text = text
        self.corner = corner
        self.margin = margin
        self.opacity = opacity
        self.scale = scale
        self.logoPath = logoPath
        self.fontPath = fontPath
    }
}

/// Picks a font file that covers the label's script.
public enum LabelFont {
    public static let latin = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]
    public static let cjk = [
        "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
        "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJKjp-Regular.otf",
    ]
    public static let hangul = [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    ]

    public enum Script: String, Sendable { case latin, cjk, hangul }

    public static func script(of text: String) -> Script {
        var sawCJK = false
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0xAC00...0xD7AF, 0x1100...0x11FF, 0x3130...0x318F: return .hangul
            case 0x3000...0x30FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0xFF00...0xFFEF: sawCJK = true
            default: break
            }
        }
        return sawCJK ? .cjk : .latin
    }

    public static func path(for text: String, fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) })
        throws -> String {
        let script = script(of: text)
        let candidates: [String]
        switch script {
        case .latin: candidates = latin
        case .cjk: candidates = cjk
        case .hangul: candidates = hangul
        }
        guard let found = candidates.first(where: fileExists) else {
            throw MediaError.fontNotFound(script: script.rawValue, searched: candidates)
        }
        return found
    }
}

/// Draws the visible label on frames with libavfilter (drawtext, and overlay for a logo).
public final class VisibleWatermark {
    public let config: VisibleWatermarkConfig

    public init(config: VisibleWatermarkConfig) { self.config = config }

    /// Quotes a value for a filtergraph string: inside '...' only a quote is special.
    static func quoted(_ s: String) throws -> String {
        guard !s.contains("'") else { throw MediaError.filterFailed(reason: "a path with a quote cannot be used: \(s)") }
        return "'\(s)'"
    }

    func filterGraph(width: Int, height: Int, textFile: String) throws -> String {
        let font = try config.fontPath ?? LabelFont.path(for: config.text)
        let fontSize = max(8, Int((config.scale * Double(height)).rounded()))
        let margin = Int((config.margin * Double(height)).rounded())
        let opacity = max(0, min(1, config.opacity))
        var logoWidth = 0, logoHeight = 0
        if let logo = config.logoPath {
            let image = try ImageDecoder.decode(path: logo)
            logoHeight = Int((Double(fontSize) * 1.4).rounded())
            logoWidth = max(1, Int((Double(image.width) * Double(logoHeight) / Double(image.height)).rounded()))
        }
        let gap = logoWidth > 0 ? fontSize / 2 : 0
        let left = config.corner == .topLeft || config.corner == .bottomLeft
        let top = config.corner == .topLeft || config.corner == .topRight
        let textX = left ? "\(margin + logoWidth + gap)" : "w-text_w-\(margin + logoWidth + gap)"
        let textY = top ? "\(margin + max(0, (logoHeight - fontSize) / 2))" : "h-text_h-\(margin + max(0, (logoHeight - fontSize) / 2))"
        let shadow = max(1, fontSize / 16)
        var graph = "[in]drawtext=fontfile=\(try Self.quoted(font)):textfile=\(try Self.quoted(textFile)):expansion=none"
            + ":fontsize=\(fontSize):fontcolor=white@\(opacity):shadowcolor=black@\(opacity * 0.6)"
            + ":shadowx=\(shadow):shadowy=\(shadow):x=\(textX):y=\(textY)"
        if let logo = config.logoPath {
            let logoX = left ? "\(margin)" : "W-w-\(margin)"
            let logoY = top ? "\(margin)" : "H-h-\(margin)"
            graph += "[t];movie=\(try Self.quoted(logo)),scale=\(logoWidth):\(logoHeight),format=rgba"
                + ",colorchannelmixer=aa=\(opacity)[logo];[t][logo]overlay=x=\(logoX):y=\(logoY)"
        }
        return graph + ",format=rgb24[out]"
    }

    public func apply(_ clip: VideoFrames) throws -> VideoFrames {
        guard let first = clip.frames.first else { return clip }
        let width = first.width, height = first.height
        let textFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("wand-label-\(UUID().uuidString).txt").path
        try Data(config.text.utf8).write(to: URL(fileURLWithPath: textFile))
        defer { try? FileManager.default.removeItem(atPath: textFile) }
        _ = AV.quiet

        var graph = avfilter_graph_alloc()
        defer { avfilter_graph_free(&graph) }
        var source: UnsafeMutablePointer<AVFilterContext>?
        var sink: UnsafeMutablePointer<AVFilterContext>?
        let args = "video_size=\(width)x\(height):pix_fmt=\(AV_PIX_FMT_RGB24.rawValue):time_base=1/\(max(1, clip.fps)):pixel_aspect=1/1"
        var rc = avfilter_graph_create_filter(&source, avfilter_get_by_name("buffer"), "in", args, nil, graph)
        guard rc >= 0 else { throw MediaError.filterFailed(reason: "buffer source: \(AV.message(rc))") }
        rc = avfilter_graph_create_filter(&sink, avfilter_get_by_name("buffersink"), "out", nil, nil, graph)
        guard rc >= 0 else { throw MediaError.filterFailed(reason: "buffer sink: \(AV.message(rc))") }

        var outputs = avfilter_inout_alloc()
        var inputs = avfilter_inout_alloc()
        defer { avfilter_inout_free(&outputs); avfilter_inout_free(&inputs) }
        outputs!.pointee.name = av_strdup("in")
        outputs!.pointee.filter_ctx = source
        outputs!.pointee.pad_idx = 0
        outputs!.pointee.next = nil
        inputs!.pointee.name = av_strdup("out")
        inputs!.pointee.filter_ctx = sink
        inputs!.pointee.pad_idx = 0
        inputs!.pointee.next = nil
        let description = try filterGraph(width: width, height: height, textFile: textFile)
        rc = avfilter_graph_parse_ptr(graph, description, &inputs, &outputs, nil)
        guard rc >= 0 else { throw MediaError.filterFailed(reason: "parse \(description): \(AV.message(rc))") }
        rc = avfilter_graph_config(graph, nil)
        guard rc >= 0 else { throw MediaError.filterFailed(reason: "configure: \(AV.message(rc))") }

        var inFrame = av_frame_alloc()
        var outFrame = av_frame_alloc()
        defer { av_frame_free(&inFrame); av_frame_free(&outFrame) }
        guard let inFrame, let outFrame else { throw MediaError.filterFailed(reason: "out of memory") }
        var result: [RGBFrame] = []
        func collect() throws {
            while true {
                let r = av_buffersink_get_frame(sink, outFrame)
                if r == AV.eagain || r == AV.eof { return }
                guard r >= 0 else { throw MediaError.filterFailed(reason: "sink: \(AV.message(r))") }
                var pixels = [UInt8](repeating: 0, count: width * height * 3)
                let plane = outFrame.plane(0), stride = outFrame.stride(0)
                for y in 0..<height {
                    for x in 0..<(width * 3) { pixels[y * width * 3 + x] = plane[y * stride + x] }
                }
                result.append(RGBFrame(width: width, height: height, pixels: pixels))
                av_frame_unref(outFrame)
            }
        }
        for (index, frame) in clip.frames.enumerated() {
            guard frame.width == width, frame.height == height else {
                throw MediaError.filterFailed(reason: "frame \(index) is \(frame.width)x\(frame.height), clip is \(width)x\(height)")
            }
            inFrame.pointee.width = Int32(width)
            inFrame.pointee.height = Int32(height)
            inFrame.pointee.format = AV_PIX_FMT_RGB24.rawValue
            rc = av_frame_get_buffer(inFrame, 0)
            guard rc >= 0 else { throw MediaError.filterFailed(reason: "frame buffer: \(AV.message(rc))") }
            let plane = inFrame.plane(0), stride = inFrame.stride(0)
            frame.pixels.withUnsafeBufferPointer { px in
                for y in 0..<height {
                    for x in 0..<(width * 3) { plane[y * stride + x] = px[y * width * 3 + x] }
                }
            }
            inFrame.pointee.pts = Int64(index)
            rc = av_buffersrc_add_frame_flags(source, inFrame, 0)
            av_frame_unref(inFrame)
            guard rc >= 0 else { throw MediaError.filterFailed(reason: "feed frame \(index): \(AV.message(rc))") }
            try collect()
        }
        av_buffersrc_add_frame_flags(source, nil, 0)
        try collect()
        return VideoFrames(frames: result, fps: clip.fps)
    }
}
