import CAV
import Foundation

/// Files written beside a video for media servers: NAME.nfo (Kodi/Jellyfin movie NFO) and NAME-poster.jpg.
public enum SidecarWriter {
    public struct NFO: Sendable {
        public var title: String
        public var prompt: String
        public var dateAdded: Date
        public var tags: [String]
        public init(title: String, prompt: String, dateAdded: Date = Date(), tags: [String] = ["AI generated"]) {
            self.title = title
            self.prompt = prompt
            self.dateAdded = dateAdded
            self.tags = tags
        }
    }

    /// "/x/clip.mp4" -> "/x/clip.nfo" and "/x/clip-poster.jpg", the names Kodi and Jellyfin look for.
    public static func nfoPath(forVideo video: String) -> String { (video as NSString).deletingPathExtension + ".nfo" }
    public static func posterPath(forVideo video: String) -> String {
        (video as NSString).deletingPathExtension + "-poster.jpg"
    }

    public static func xmlEscaped(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // XML 1.0 forbids most control characters even escaped; drop them.
            case _ where scalar.value < 0x20 && scalar != "\n" && scalar != "\t" && scalar != "\r": continue
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    public static func nfoDocument(_ nfo: NFO) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>", "<movie>",
                     "  <title>\(xmlEscaped(nfo.title))</title>",
                     "  <plot>\(xmlEscaped(nfo.prompt))</plot>"]
        lines += nfo.tags.map { "  <tag>\(xmlEscaped($0))</tag>" }
        lines += ["  <dateadded>\(formatter.string(from: nfo.dateAdded))</dateadded>", "</movie>", ""]
        return lines.joined(separator: "\n")
    }

    /// Writes the NFO atomically (temporary file + rename) so a media server never reads half a file.
    public static func writeNFO(_ nfo: NFO, to path: String) throws {
        try writeAtomically(Data(nfoDocument(nfo).utf8), to: path)
    }

    /// Encodes any Encodable as pretty, key-sorted JSON and writes it atomically.
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data: Data
        do { data = try encoder.encode(value) } catch {
            throw MediaError.invalidInput(path: path, reason: "cannot encode JSON: \(error)")
        }
        try writeAtomically(data + Data("\n".utf8), to: path)
    }

    static func writeAtomically(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw MediaError.cannotOpen(path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Writes one frame as a baseline JPEG with libavcodec's MJPEG encoder (quality 2 = best ... 31 = worst).
    public static func writePoster(_ frame: RGBFrame, to path: String, quality: Int = 3) throws {
        _ = AV.quiet
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else { throw MediaError.codecUnavailable(name: "mjpeg") }
        var ctx = avcodec_alloc_context3(codec)
        defer { avcodec_free_context(&ctx) }
        guard let ctx else { throw MediaError.encodeFailed(path: path, stage: "alloc", reason: "out of memory") }
        ctx.pointee.width = Int32(frame.width)
        ctx.pointee.height = Int32(frame.height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        ctx.pointee.color_range = AVCOL_RANGE_JPEG
        ctx.pointee.time_base = AVRational(num: 1, den: 1)
        ctx.pointee.flags |= AV_CODEC_FLAG_QSCALE
        let q = Int32(max(2, min(31, quality)))
        ctx.pointee.global_quality = q * 118  // FF_QP2LAMBDA
        var rc = avcodec_open2(ctx, codec, nil)
        guard rc >= 0 else { throw MediaError.encodeFailed(path: path, stage: "open mjpeg", reason: AV.message(rc)) }

        var yuv = av_frame_alloc()
        var packet = av_packet_alloc()
        defer { av_frame_free(&yuv); av_packet_free(&packet) }
        guard let yuv, let packet else { throw MediaError.encodeFailed(path: path, stage: "alloc", reason: "out of memory") }
        yuv.pointee.width = ctx.pointee.width
        yuv.pointee.height = ctx.pointee.height
        yuv.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        yuv.pointee.quality = ctx.pointee.global_quality
        rc = av_frame_get_buffer(yuv, 0)
        guard rc >= 0 else { throw MediaError.encodeFailed(path: path, stage: "frame", reason: AV.message(rc)) }
        guard let sws = sws_getContext(Int32(frame.width), Int32(frame.height), AV_PIX_FMT_RGB24,
                                       Int32(frame.width), Int32(frame.height), AV_PIX_FMT_YUVJ420P,
                                       Int32(SWS_BICUBIC), nil, nil, nil) else {
            throw MediaError.encodeFailed(path: path, stage: "swscale", reason: "no converter")
        }
        defer { sws_freeContext(sws) }
        frame.pixels.withUnsafeBufferPointer { px in
            var src: [UnsafePointer<UInt8>?] = [px.baseAddress, nil, nil, nil]
            var srcStride: [Int32] = [Int32(frame.width * 3), 0, 0, 0]
            var dst: [UnsafeMutablePointer<UInt8>?] = [yuv.plane(0), yuv.plane(1), yuv.plane(2), nil]
            var dstStride: [Int32] = [Int32(yuv.stride(0)), Int32(yuv.stride(1)), Int32(yuv.stride(2)), 0]
            _ = sws_scale(sws, &src, &srcStride, 0, Int32(frame.height), &dst, &dstStride)
        }
        rc = avcodec_send_frame(ctx, yuv)
        if rc >= 0 { rc = avcodec_send_frame(ctx, nil) }
        guard rc >= 0 else { throw MediaError.encodeFailed(path: path, stage: "send", reason: AV.message(rc)) }
        var bytes = Data()
        while true {
            let r = avcodec_receive_packet(ctx, packet)
            if r == AV.eagain || r == AV.eof { break }
            guard r >= 0 else { throw MediaError.encodeFailed(path: path, stage: "receive", reason: AV.message(r)) }
            bytes.append(packet.pointee.data, count: Int(packet.pointee.size))
            av_packet_unref(packet)
        }
        guard !bytes.isEmpty else { throw MediaError.encodeFailed(path: path, stage: "receive", reason: "no JPEG data") }
        try writeAtomically(bytes, to: path)
    }
}
