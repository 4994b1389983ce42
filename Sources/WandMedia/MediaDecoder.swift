import CAV
import Foundation

/// Opens a file with libavformat and decodes one stream; every libav failure becomes a MediaError with the path.
final class StreamDecoder {
    let path: String
    private(set) var format: UnsafeMutablePointer<AVFormatContext>?
    private(set) var codec: UnsafeMutablePointer<AVCodecContext>?
    let streamIndex: Int32
    let stream: UnsafeMutablePointer<AVStream>

    init(path: String, type: AVMediaType) throws {
        self.path = path
        _ = AV.quiet
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw MediaError.cannotOpen(path: path, reason: "file does not exist or is not readable")
        }
        var fmt: UnsafeMutablePointer<AVFormatContext>?
        var rc = avformat_open_input(&fmt, path, nil, nil)
        guard rc >= 0, let fmt else { throw MediaError.corrupt(path: path, reason: "open: \(AV.message(rc))") }
        format = fmt
        rc = avformat_find_stream_info(fmt, nil)
        guard rc >= 0 else {
            avformat_close_input(&format)
            throw MediaError.corrupt(path: path, reason: "stream info: \(AV.message(rc))")
        }
        var decoderPtr: UnsafePointer<AVCodec>?
        let index = av_find_best_stream(fmt, type, -1, -1, &decoderPtr, 0)
        guard index >= 0, let decoder = decoderPtr else {
            avformat_close_input(&format)
            let kind = type == AVMEDIA_TYPE_AUDIO ? "audio" : "video/image"
            throw MediaError.noStream(path: path, kind: kind)
        }
        streamIndex = index
        stream = fmt.pointee.streams[Int(index)]!
        guard let ctx = avcodec_alloc_context3(decoder) else {
            avformat_close_input(&format)
            throw MediaError.corrupt(path: path, reason: "out of memory")
        }
        codec = ctx
        rc = avcodec_parameters_to_context(ctx, stream.pointee.codecpar)
        if rc >= 0 { rc = avcodec_open2(ctx, decoder, nil) }
        guard rc >= 0 else {
            avcodec_free_context(&codec)
            avformat_close_input(&format)
            throw MediaError.corrupt(path: path, reason: "open decoder: \(AV.message(rc))")
        }
    }

    deinit {
        avcodec_free_context(&codec)
        avformat_close_input(&format)
    }

    /// Calls `body` for every decoded frame; body returns false to stop early.
    /// Throws if a packet cannot be read for another reason than end of file, or if nothing decodes.
    func forEachFrame(_ body: (UnsafeMutablePointer<AVFrame>) throws -> Bool) throws {
        guard let format, let codec else { return }
        var packet = av_packet_alloc()
        var frame = av_frame_alloc()
        defer { av_packet_free(&packet); av_frame_free(&frame) }
        guard let packet, let frame else { throw MediaError.corrupt(path: path, reason: "out of memory") }
        var decoded = 0
        var lastError: Int32 = 0
        var draining = false
        outer: while true {
            if !draining {
                let rc = av_read_frame(format, packet)
                if rc < 0 {
                    if rc != AV.eof { lastError = rc }
                    draining = true
                    avcodec_send_packet(codec, nil)
                } else {
                    defer { av_packet_unref(packet) }
                    if packet.pointee.stream_index != streamIndex { continue }
                    let s = avcodec_send_packet(codec, packet)
                    if s < 0 && s != AV.eagain { lastError = s }  // damaged packet: keep going, report if nothing decodes
                }
            }
            while true {
                let r = avcodec_receive_frame(codec, frame)
                if r == AV.eagain { if draining { break outer } else { break } }
                if r == AV.eof { break outer }
                if r < 0 { lastError = r; if draining { break outer } else { break } }
                decoded += 1
                let more = try body(frame)
                av_frame_unref(frame)
                if !more { break outer }
            }
        }
        if decoded == 0 {
            let reason = lastError != 0 ? AV.message(lastError) : "no decodable frames"
            throw MediaError.corrupt(path: path, reason: reason)
        }
    }
}

/// Converts any decoded picture to RGB24 at a given size with swscale, honouring the frame's colour matrix.
struct PictureConverter {
    static func rgb(from frame: UnsafeMutablePointer<AVFrame>, width: Int? = nil, height: Int? = nil,
                    path: String) throws -> RGBFrame {
        let srcW = frame.pointee.width, srcH = frame.pointee.height
        let dstW = Int32(width ?? Int(srcW)), dstH = Int32(height ?? Int(srcH))
        guard srcW > 0, srcH > 0, let sws = sws_getContext(srcW, srcH, AVPixelFormat(frame.pointee.format),
                                                            dstW, dstH, AV_PIX_FMT_RGB24,
                                                            Int32(SWS_BICUBIC), nil, nil, nil) else {
            throw MediaError.corrupt(path: path, reason: "unsupported picture format \(frame.pointee.format)")
        }
        defer { sws_freeContext(sws) }
        let space = frame.pointee.colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_ITU601
        let fullRange: Int32 = frame.pointee.color_range == AVCOL_RANGE_JPEG || isJPEGFormat(frame.pointee.format) ? 1 : 0
        let coeffs = sws_getCoefficients(space)
        sws_setColorspaceDetails(sws, coeffs, fullRange, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
        var out = [UInt8](repeating: 0, count: Int(dstW) * Int(dstH) * 3)
        out.withUnsafeMutableBufferPointer { buf in
            var dst: [UnsafeMutablePointer<UInt8>?] = [buf.baseAddress, nil, nil, nil]
            var dstStride: [Int32] = [dstW * 3, 0, 0, 0]
            withUnsafeMutablePointer(to: &frame.pointee.data) { dataPtr in
                withUnsafeMutablePointer(to: &frame.pointee.linesize) { linePtr in
                    dataPtr.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                        linePtr.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                            _ = sws_scale(sws, src, srcStride, 0, srcH, &dst, &dstStride)
                        }
                    }
                }
            }
        }
        return RGBFrame(width: Int(dstW), height: Int(dstH), pixels: out)
    }

    private static func isJPEGFormat(_ f: Int32) -> Bool {
        [AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ440P].map { $0.rawValue }.contains(f)
    }
}
