import CAV
import Foundation

// Decodes images (PNG, JPEG, WebP through libavformat's image demuxers) and videos (MP4, MOV,
// WebM) into RGB24 frames. A corrupt or truncated file is a MediaError naming the file, never a
// crash: every libav call's result is checked.

public struct DecodedFrames: Sendable {
    public var width: Int
    public var height: Int
    /// Frames per second of the source (1 for a still image).
    public var fps: Double
    public var frames: [[UInt8]]
}

public enum FrameDecoder {
    /// The first frame of an image or video file, as RGB24.
    public static func decodeImage(_ path: String) throws -> DecodedFrames {
        try decode(path, maxFrames: 1)
    }

    /// Up to `maxFrames` frames of a video file, as RGB24.
    public static func decodeVideo(_ path: String, maxFrames: Int = .max) throws -> DecodedFrames {
        try decode(path, maxFrames: maxFrames)
    }

    static func decode(_ path: String, maxFrames: Int) throws -> DecodedFrames {
        func fail(_ message: String) -> MediaError { MediaError(path: path, message: message) }
        func check(_ code: Int32, _ what: String) throws {
            if code < 0 { throw fail("\(what): \(avErrorString(code))") }
        }
        _ = quietLibav
        guard FileManager.default.isReadableFile(atPath: path) else { throw fail("cannot read the file") }

        var format: UnsafeMutablePointer<AVFormatContext>?
        try check(avformat_open_input(&format, path, nil, nil), "not a readable image or video")
        defer { avformat_close_input(&format) }
        guard let fmt = format else { throw fail("not a readable image or video") }
        try check(avformat_find_stream_info(fmt, nil), "reading stream info")

        var decoderPointer: UnsafePointer<AVCodec>?
        let index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &decoderPointer, 0)
        guard index >= 0, let decoder = decoderPointer else { throw fail("no image or video stream in the file") }
        let stream = fmt.pointee.streams[Int(index)]!
        guard let ctx = avcodec_alloc_context3(decoder) else { throw fail("cannot allocate a decoder") }
        defer { var owned: UnsafeMutablePointer<AVCodecContext>? = ctx; avcodec_free_context(&owned) }
        try check(avcodec_parameters_to_context(ctx, stream.pointee.codecpar), "reading codec parameters")
        try check(avcodec_open2(ctx, decoder, nil), "opening the decoder")
        let width = Int(ctx.pointee.width), height = Int(ctx.pointee.height)
        guard width > 0, height > 0, width <= 16384, height <= 16384 else { throw fail("bad frame size \(width)x\(height)") }

        let rate = stream.pointee.avg_frame_rate
        let fps = rate.den > 0 && rate.num > 0 ? Double(rate.num) / Double(rate.den) : 1

        guard let packet = av_packet_alloc() else { throw fail("cannot allocate a packet") }
        defer { var owned: UnsafeMutablePointer<AVPacket>? = packet; av_packet_free(&owned) }
        guard let frame = av_frame_alloc() else { throw fail("cannot allocate a frame") }
        defer { var owned: UnsafeMutablePointer<AVFrame>? = frame; av_frame_free(&owned) }

        var sws: OpaquePointer?
        defer { if let sws { sws_freeContext(sws) } }
        var frames: [[UInt8]] = []

        func receive() throws {
            while frames.count < maxFrames {
                let r = avcodec_receive_frame(ctx, frame)
                if r == averrorEAGAIN || r == averrorEOF { return }
                try check(r, "decoding")
                guard Int(frame.pointee.width) == width, Int(frame.pointee.height) == height else {
                    throw fail("frame size changes mid-stream")
                }
                if sws == nil {
                    sws = sws_getContext(Int32(width), Int32(height), AVPixelFormat(rawValue: frame.pointee.format),
                                         Int32(width), Int32(height), AV_PIX_FMT_RGB24,
                                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil)
                    guard sws != nil else { throw fail("unsupported pixel format") }
                    if frame.pointee.colorspace == AVCOL_SPC_BT709 {
                        let c = sws_getCoefficients(SWS_CS_ITU709)
                        let full: Int32 = frame.pointee.color_range == AVCOL_RANGE_JPEG ? 1 : 0
                        sws_setColorspaceDetails(sws, c, full, c, 1, 0, 1 << 16, 1 << 16)
                    }
                }
                var rgb = [UInt8](repeating: 0, count: width * height * 3)
                rgb.withUnsafeMutableBufferPointer { dst in
                    var dstData: [UnsafeMutablePointer<UInt8>?] = [dst.baseAddress, nil, nil, nil]
                    var dstStride: [Int32] = [Int32(width * 3), 0, 0, 0]
                    withUnsafePointer(to: &frame.pointee.data) { data in
                        withUnsafePointer(to: &frame.pointee.linesize) { lines in
                            data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                                lines.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                                    _ = sws_scale(sws, src, srcStride, 0, Int32(height), &dstData, &dstStride)
                                }
                            }
                        }
                    }
                }
                frames.append(rgb)
            }
        }

        while frames.count < maxFrames {
            let r = av_read_frame(fmt, packet)
            if r == averrorEOF { break }
            try check(r, "reading the file")
            defer { av_packet_unref(packet) }
            if packet.pointee.stream_index != index { continue }
            try check(avcodec_send_packet(ctx, packet), "decoding")
            try receive()
        }
        if frames.count < maxFrames {
            _ = avcodec_send_packet(ctx, nil)
            try receive()
        }
        guard !frames.isEmpty else { throw fail("no frame could be decoded (truncated or corrupt file?)") }
        return DecodedFrames(width: width, height: height, fps: fps, frames: frames)
    }
}

/// libav logs decoder complaints on stderr; Wand reports its own located errors instead.
let quietLibav: Void = { av_log_set_level(AV_LOG_FATAL) }()
