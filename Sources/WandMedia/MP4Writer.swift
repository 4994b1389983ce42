import CAV
import Foundation

public enum VideoCodec: String, Sendable {
    case h264 = "libx264"
    case hevc = "libx265"
}

public struct VideoEncoderSettings: Sendable {
    public var codec: VideoCodec
    public var crf: Int
    public var preset: String
    public var fps: Int
    public init(codec: VideoCodec = .h264, crf: Int = 18, preset: String = "medium", fps: Int = 16) {
        self.codec = codec
        self.crf = crf
        self.preset = preset
        self.fps = fps
    }
}

/// What we write into the container. `comment` is built as compact JSON from the job facts.
public struct MP4Metadata: Sendable {
    public var title: String
    public var prompt: String
    public var jobID: String
    public var model: String
    public var seed: UInt64
    public var wandVersion: String
    public var creationTime: Date

    public init(title: String, prompt: String, jobID: String, model: String, seed: UInt64,
                wandVersion: String, creationTime: Date = Date()) {
        self.title = title
        self.prompt = prompt
        self.jobID = jobID
        self.model = model
        self.seed = seed
        self.wandVersion = wandVersion
        self.creationTime = creationTime
    }

    /// IPTC digital source type for media made by a trained model; the standard vocabulary for "AI generated".
    public static let digitalSourceType = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

    public var commentJSON: String {
        let object: [String: Any] = ["job_id": jobID, "model": model, "seed": seed, "wand_version": wandVersion,
                                     "ai_generated": true]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Key/value pairs written with the `use_metadata_tags` movflag (mdta keys survive remuxing by ffmpeg).
    public var tags: [(String, String)] {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return [
            ("title", title),
            ("description", prompt),
            ("comment", commentJSON),
            ("creation_time", iso.string(from: creationTime)),
            // libavformat overwrites "encoder" with its own ident (Lavf...); our name goes in "software".
            ("encoder", "Wand \(wandVersion)"),
            ("software", "Wand \(wandVersion)"),
            ("ai_generated", "true"),
            ("digital_source_type", MP4Metadata.digitalSourceType),
            ("keywords", "AI generated"),
        ]
    }
}

/// Writes RGB frames (and optionally audio, AAC, cut to the video's duration) into an MP4 file:
/// yuv420p, BT.709 tags, faststart.
public final class MP4Writer {
    public let path: String
    public let width: Int
    public let height: Int
    public let settings: VideoEncoderSettings

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var video: UnsafeMutablePointer<AVCodecContext>?
    private var videoStream: UnsafeMutablePointer<AVStream>?
    private var audio: UnsafeMutablePointer<AVCodecContext>?
    private var audioStream: UnsafeMutablePointer<AVStream>?
    private var yuv: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var pendingAudio: AudioSamples?
    private var nextPTS: Int64 = 0
    private var finished = false

    public init(path: String, width: Int, height: Int, settings: VideoEncoderSettings = .init(),
                metadata: MP4Metadata?, audio: AudioSamples? = nil) throws {
        self.path = path
        self.width = width
        self.height = height
        self.settings = settings
        _ = AV.quiet
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0 else {
            throw MediaError.invalidInput(path: path, reason: "yuv420p needs even width and height, got \(width)x\(height)")
        }
        guard settings.fps > 0 else { throw MediaError.invalidInput(path: path, reason: "fps must be positive") }
        do {
            try open(metadata: metadata, audio: audio)
        } catch {
            release()
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    deinit { release() }

    private func fail(_ stage: String, _ code: Int32) -> MediaError {
        .encodeFailed(path: path, stage: stage, reason: AV.message(code))
    }

    private func open(metadata: MP4Metadata?, audio audioTrack: AudioSamples?) throws {
        var fmt: UnsafeMutablePointer<AVFormatContext>?
        var rc = avformat_alloc_output_context2(&fmt, nil, "mp4", path)
        guard rc >= 0, let fmt else { throw fail("alloc output", rc) }
        format = fmt

        guard let codec = avcodec_find_encoder_by_name(settings.codec.rawValue) else {
            throw MediaError.codecUnavailable(name: settings.codec.rawValue)
        }
        guard let ctx = avcodec_alloc_context3(codec) else { throw fail("alloc codec", -ENOMEM) }
        video = ctx
        ctx.pointee.width = Int32(width)
        ctx.pointee.height = Int32(height)
        ctx.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(settings.fps))
        ctx.pointee.framerate = AVRational(num: Int32(settings.fps), den: 1)
        ctx.pointee.color_primaries = AVCOL_PRI_BT709
        ctx.pointee.color_trc = AVCOL_TRC_BT709
        ctx.pointee.colorspace = AVCOL_SPC_BT709
        ctx.pointee.color_range = AVCOL_RANGE_MPEG
        if fmt.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        av_opt_set(ctx.pointee.priv_data, "crf", String(settings.crf), 0)
        av_opt_set(ctx.pointee.priv_data, "preset", settings.preset, 0)
        if settings.codec == .hevc {
            av_opt_set(ctx.pointee.priv_data, "x265-params", "log-level=error", 0)
            ctx.pointee.codec_tag = fourCC("hvc1")  // plays in QuickTime/Safari
        }
        rc = avcodec_open2(ctx, codec, nil)
        guard rc >= 0 else { throw fail("open \(settings.codec.rawValue)", rc) }

        guard let stream = avformat_new_stream(fmt, nil) else { throw fail("new stream", -ENOMEM) }
        videoStream = stream
        stream.pointee.time_base = ctx.pointee.time_base
        stream.pointee.avg_frame_rate = ctx.pointee.framerate
        rc = avcodec_parameters_from_context(stream.pointee.codecpar, ctx)
        guard rc >= 0 else { throw fail("codec parameters", rc) }

        if let audioTrack { try openAudio(audioTrack, format: fmt) }

        if let metadata {
            for (key, value) in metadata.tags { av_dict_set(&fmt.pointee.metadata, key, value, 0) }
        }

        rc = avio_open(&fmt.pointee.pb, path, AVIO_FLAG_WRITE)
        guard rc >= 0 else { throw MediaError.cannotOpen(path: path, reason: AV.message(rc)) }
        var options: OpaquePointer?
        av_dict_set(&options, "movflags", "+faststart+use_metadata_tags", 0)
        rc = avformat_write_header(fmt, &options)
        av_dict_free(&options)
        guard rc >= 0 else { throw fail("write header", rc) }

        guard let frame = av_frame_alloc() else { throw fail("alloc frame", -ENOMEM) }
        yuv = frame
        frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        frame.pointee.width = Int32(width)
        frame.pointee.height = Int32(height)
        rc = av_frame_get_buffer(frame, 0)
        guard rc >= 0 else { throw fail("frame buffer", rc) }
        packet = av_packet_alloc()
    }

    private func openAudio(_ track: AudioSamples, format fmt: UnsafeMutablePointer<AVFormatContext>) throws {
        guard track.channels == 1 || track.channels == 2, track.sampleRate > 0 else {
            throw MediaError.invalidInput(path: path, reason: "audio must be mono or stereo with a positive rate")
        }
        guard let codec = avcodec_find_encoder(AV_CODEC_ID_AAC) else { throw MediaError.codecUnavailable(name: "aac") }
        guard let ctx = avcodec_alloc_context3(codec) else { throw fail("alloc aac", -ENOMEM) }
        audio = ctx
        ctx.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        ctx.pointee.sample_rate = Int32(track.sampleRate)
        av_channel_layout_default(&ctx.pointee.ch_layout, Int32(track.channels))
        ctx.pointee.bit_rate = 128_000
        ctx.pointee.time_base = AVRational(num: 1, den: Int32(track.sampleRate))
        if fmt.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            ctx.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
        }
        let rc = avcodec_open2(ctx, codec, nil)
        guard rc >= 0 else { throw fail("open aac", rc) }
        guard let stream = avformat_new_stream(fmt, nil) else { throw fail("new audio stream", -ENOMEM) }
        audioStream = stream
        stream.pointee.time_base = ctx.pointee.time_base
        avcodec_parameters_from_context(stream.pointee.codecpar, ctx)
        pendingAudio = track
    }

    /// Appends one frame; it must have the writer's size.
    public func append(_ frame: RGBFrame) throws {
        guard !finished else { throw MediaError.invalidInput(path: path, reason: "append after finish") }
        guard frame.width == width, frame.height == height else {
            throw MediaError.invalidInput(path: path, reason: "frame is \(frame.width)x\(frame.height), writer is \(width)x\(height)")
        }
        guard let yuv, let video else { return }
        var rc = av_frame_make_writable(yuv)
        guard rc >= 0 else { throw fail("frame writable", rc) }
        ColorConversion.rgbToYUV420BT709(frame, into: yuv)
        yuv.pointee.pts = nextPTS
        nextPTS += 1
        rc = avcodec_send_frame(video, yuv)
        guard rc >= 0 else { throw fail("send frame", rc) }
        try drain(video, stream: videoStream!)
    }

    /// Flushes the encoders, writes the audio track and the trailer (moov moved to the front).
    public func finish() throws {
        guard !finished, let video, let format else { return }
        finished = true
        var rc = avcodec_send_frame(video, nil)
        guard rc >= 0 else { throw fail("flush video", rc) }
        try drain(video, stream: videoStream!)
        if let track = pendingAudio, let audio { try encodeAudio(track, ctx: audio) }
        rc = av_write_trailer(format)
        guard rc >= 0 else { throw fail("write trailer", rc) }
        release()
    }

    /// The audio track ends with the video (the frames appended so far): a longer track is cut
    /// there, a shorter one is left as it is.
    private func encodeAudio(_ track: AudioSamples, ctx: UnsafeMutablePointer<AVCodecContext>) throws {
        let frameSize = Int(ctx.pointee.frame_size > 0 ? ctx.pointee.frame_size : 1024)
        let videoSamples = Int((Double(nextPTS) * Double(track.sampleRate) / Double(settings.fps)).rounded())
        let total = min(track.samples.count / track.channels, videoSamples)
        guard let frame = av_frame_alloc() else { throw fail("alloc audio frame", -ENOMEM) }
        var frameVar: UnsafeMutablePointer<AVFrame>? = frame
        defer { av_frame_free(&frameVar) }
        var start = 0
        while start < total {
            let count = min(frameSize, total - start)
            frame.pointee.nb_samples = Int32(count)
            frame.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
            frame.pointee.sample_rate = ctx.pointee.sample_rate
            av_channel_layout_copy(&frame.pointee.ch_layout, &ctx.pointee.ch_layout)
            var rc = av_frame_get_buffer(frame, 0)
            guard rc >= 0 else { throw fail("audio buffer", rc) }
            for c in 0..<track.channels {
                let plane = UnsafeMutableRawPointer(frame.plane(c)).assumingMemoryBound(to: Float.self)
                for i in 0..<count { plane[i] = track.samples[(start + i) * track.channels + c] }
            }
            frame.pointee.pts = Int64(start)
            rc = avcodec_send_frame(ctx, frame)
            av_frame_unref(frame)
            guard rc >= 0 else { throw fail("send audio", rc) }
            try drain(ctx, stream: audioStream!)
            start += count
        }
        avcodec_send_frame(ctx, nil)
        try drain(ctx, stream: audioStream!)
    }

    private func drain(_ ctx: UnsafeMutablePointer<AVCodecContext>, stream: UnsafeMutablePointer<AVStream>) throws {
        guard let packet, let format else { return }
        while true {
            var rc = avcodec_receive_packet(ctx, packet)
            if rc == AV.eagain || rc == AV.eof { return }
            guard rc >= 0 else { throw fail("receive packet", rc) }
            av_packet_rescale_ts(packet, ctx.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            rc = av_interleaved_write_frame(format, packet)
            guard rc >= 0 else { throw fail("write packet", rc) }
        }
    }

    private func release() {
        if video != nil { avcodec_free_context(&video) }
        if audio != nil { avcodec_free_context(&audio) }
        if yuv != nil { av_frame_free(&yuv) }
        if packet != nil { av_packet_free(&packet) }
        if let format {
            if format.pointee.pb != nil { avio_closep(&format.pointee.pb) }
            avformat_free_context(format)
            self.format = nil
        }
    }

    /// Writes a whole clip in one call.
    public static func write(_ clip: VideoFrames, to path: String, settings: VideoEncoderSettings? = nil,
                             metadata: MP4Metadata?, audio: AudioSamples? = nil) throws {
        guard let first = clip.frames.first else { throw MediaError.invalidInput(path: path, reason: "no frames") }
        var s = settings ?? VideoEncoderSettings()
        s.fps = clip.fps
        let writer = try MP4Writer(path: path, width: first.width, height: first.height, settings: s,
                                   metadata: metadata, audio: audio)
        for frame in clip.frames { try writer.append(frame) }
        try writer.finish()
    }
}

private func fourCC(_ s: String) -> UInt32 {
    let b = Array(s.utf8)
    return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
}
