import CAV
import Foundation

// Writes RGB frames to an MP4 through libavformat / libavcodec / libswscale: H.264 (libx264) or
// HEVC (libx265), yuv420p with BT.709 colour tags and limited range, CRF and preset, a time base of
// exactly 1/fps, faststart (the index first, so a NAS share or a media server can start playing
// before the whole file is read) and metadata tags that survive muxing.

public struct MP4Settings: Sendable, Equatable {
    public enum Codec: String, Sendable { case h264, hevc }
    public var codec: Codec = .h264
    public var crf: Int = 18
    public var preset: String = "medium"
    public init(codec: Codec = .h264, crf: Int = 18, preset: String = "medium") {
        self.codec = codec
        self.crf = crf
        self.preset = preset
    }
}

/// The tags written into the MP4. Jellyfin shows title and description; `comment` carries compact
/// JSON (job id, model, seed, Wand version); `ai_generated` is Wand's own marker (kept by the
/// use_metadata_tags movflag) and `AI generated` is also prepended to the comment's text fields.
public struct MP4Tags: Sendable, Equatable {
    public var title: String
    public var description: String
    public var comment: String
    public var creationTime: String   // ISO 8601, e.g. 2026-11-25T03:00:00Z
    public var extra: [String: String]

    public init(title: String, description: String, comment: String, creationTime: String, extra: [String: String] = [:]) {
        self.title = title
        self.description = description
        self.comment = comment
        self.creationTime = creationTime
        self.extra = extra
    }
}

public struct MediaError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

public enum MP4Writer {
    public static let encoderName = "Wand"

    /// Encodes `frames` (RGB24, all the same size, even width and height) at `fps` into `path`.
    public static func write(frames: [[UInt8]], width: Int, height: Int, fps: Int, to path: String,
                             settings: MP4Settings = MP4Settings(), tags: MP4Tags) throws {
        _ = quietLibav
        guard !frames.isEmpty else { throw MediaError(path: path, message: "no frames to encode") }
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw MediaError(path: path, message: "frame size \(width)x\(height) must be positive and even for yuv420p")
        }
        guard frames.allSatisfy({ $0.count == width * height * 3 }) else {
            throw MediaError(path: path, message: "every frame must be \(width)x\(height) RGB24")
        }
        guard fps > 0, fps <= 240 else { throw MediaError(path: path, message: "fps \(fps) out of range") }
        guard (0...51).contains(settings.crf) else { throw MediaError(path: path, message: "crf \(settings.crf) out of 0...51") }

        func check(_ code: Int32, _ what: String) throws {
            if code < 0 { throw MediaError(path: path, message: "\(what): \(avErrorString(code))") }
        }

        var format: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_alloc_output_context2(&format, nil, "mp4", path), "allocating the MP4 muxer")
        guard let fmt = format else { throw MediaError(path: path, message: "no MP4 muxer") }
        defer {
            if fmt.pointee.pb != nil { avio_closep(&fmt.pointee.pb) }
            avformat_free_context(fmt)
        }

        let encoderName = settings.codec == .h264 ? "libx264" : "libx265"
        guard let codec = avcodec_find_encoder_by_name(encoderName) else {
            throw MediaError(path: path, message: "the \(encoderName) encoder is not available in this libavcodec")
        }
        guard let stream = avformat_new_stream(fmt, nil) else { throw MediaError(path: path, message: "cannot add a stream") }
        guard let ctx = avcodec_alloc_context3(codec) else { throw MediaError(path: path, message: "cannot allocate the encoder") }
        defer { var owned: UnsafeMutablePointer<AVCodecContext>? = ctx; avcodec_free_context(&owned) }

        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(fps))
        ctx.pointee.framerate = AVRational(num: Int32(fps), den: 1)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.color_primaries = AVCOL_PRI_BT709
        ctx.pointee.color_trc = AVCOL_TRC_BT709
        ctx.pointee.colorspace = AVCOL_SPC_BT709
        ctx.pointee.color_range = AVCOL_RANGE_MPEG
        if (fmt.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER) != 0 {
            ctx.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        }
        av_opt_set(ctx.pointee.priv_data, "crf", String(settings.crf), 0)
        av_opt_set(ctx.pointee.priv_data, "preset", settings.preset, 0)
        if settings.codec == .hevc {
            av_opt_set(ctx.pointee.priv_data, "x265-params", "log-level=error", 0)
            ctx.pointee.codec_tag = fourCC("hvc1")  // what Apple players and browsers expect
        }
        try check(avcodec_open2(ctx, codec, nil), "opening \(encoderName)")
        try check(avcodec_parameters_from_context(stream.pointee.codecpar, ctx), "copying codec parameters")
        stream.pointee.time_base = ctx.pointee.time_base
        stream.pointee.avg_frame_rate = ctx.pointee.framerate

        var meta: [(String, String)] = [("title", tags.title), ("description", tags.description),
                                        ("synopsis", tags.description), ("comment", tags.comment),
                                        ("creation_time", tags.creationTime), ("encoder", encoderName + " via " + Self.encoderName)]
        meta += tags.extra.sorted { $0.key < $1.key }
        for (key, value) in meta { av_dict_set(&fmt.pointee.metadata, key, value, 0) }

        try check(avio_open(&fmt.pointee.pb, path, AVIO_FLAG_WRITE), "opening the output file")
        var options: OpaquePointer?
        av_dict_set(&options, "movflags", "+faststart+use_metadata_tags", 0)
        defer { av_dict_free(&options) }
        try check(avformat_write_header(fmt, &options), "writing the MP4 header")

        guard let sws = sws_getContext(Int32(width), Int32(height), AV_PIX_FMT_RGB24, Int32(width), Int32(height),
                                       AV_PIX_FMT_YUV420P, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil) else {
            throw MediaError(path: path, message: "cannot create the RGB to YUV converter")
        }
        defer { sws_freeContext(sws) }
        // RGB is full range; the video is BT.709 limited range.
        let coefficients = sws_getCoefficients(SWS_CS_ITU709)
        sws_setColorspaceDetails(sws, coefficients, 1, coefficients, 0, 0, 1 << 16, 1 << 16)

        guard let frame = av_frame_alloc() else { throw MediaError(path: path, message: "cannot allocate a frame") }
        defer { var owned: UnsafeMutablePointer<AVFrame>? = frame; av_frame_free(&owned) }
        frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        frame.pointee.color_primaries = AVCOL_PRI_BT709
        frame.pointee.color_trc = AVCOL_TRC_BT709
        frame.pointee.colorspace = AVCOL_SPC_BT709
        frame.pointee.color_range = AVCOL_RANGE_MPEG
        try check(av_frame_get_buffer(frame, 0), "allocating frame buffers")

        guard let packet = av_packet_alloc() else { throw MediaError(path: path, message: "cannot allocate a packet") }
        defer { var owned: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&owned) }

        func drain() throws {
            while true {
                let r = avcodec_receive_packet(ctx, packet)
                if r == averrorEAGAIN || r == averrorEOF { return }
                try check(r, "encoding")
                av_packet_rescale_ts(packet, ctx.pointee.time_base, stream.pointee.time_base)
                packet.pointee.stream_index = stream.pointee.index
                try check(av_interleaved_write_frame(fmt, packet), "writing a packet")
            }
        }

        for (index, rgb) in frames.enumerated() {
            try check(av_frame_make_writable(frame), "making the frame writable")
            rgb.withUnsafeBufferPointer { src in
                var srcData: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
                var srcStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                withUnsafeMutablePointer(to: &frame.pointee.data) { data in
                    withUnsafeMutablePointer(to: &frame.pointee.linesize) { lines in
                        data.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { dst in
                            lines.withMemoryRebound(to: Int32.self, capacity: 8) { dstStride in
                                _ = sws_scale(sws, &srcData, &srcStride, 0, Int32(height), dst, dstStride)
                            }
                        }
                    }
                }
            }
            frame.pointee.pts = Int64(index)
            try check(avcodec_send_frame(ctx, frame), "sending frame \(index)")
            try drain()
        }
        try check(avcodec_send_frame(ctx, nil), "flushing the encoder")
        try drain()
        try check(av_write_trailer(fmt), "writing the MP4 index")
    }
}

// libav's error macros do not import into Swift.
let averrorEAGAIN: Int32 = -EAGAIN
let averrorEOF: Int32 = -Int32(bitPattern: UInt32(UInt8(ascii: "E")) | UInt32(UInt8(ascii: "O")) << 8
                                 | UInt32(UInt8(ascii: "F")) << 16 | UInt32(UInt8(ascii: " ")) << 24)

func avErrorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    av_strerror(code, &buffer, buffer.count)
    return String(cString: buffer)
}

func fourCC(_ s: String) -> UInt32 {
    let b = Array(s.utf8)
    return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
}
