import CAV
import Foundation

/// Decoded audio and what happened on the way: the samples (interleaved when `channels` > 1),
/// whether decoding stopped at the caller's duration cap, and the container's own duration.
public struct DecodedAudio: Sendable {
    public var samples: [Float]
    public var channels: Int
    public var sampleRate: Int
    /// Decoding stopped at `maxSeconds`; the file goes on.
    public var truncated: Bool
    /// The duration libavformat reports for the file (nil when the container does not say).
    public var containerSeconds: Double?

    public var frameCount: Int { samples.count / max(channels, 1) }
    public var seconds: Double { Double(frameCount) / Double(sampleRate) }
    public var asSamples: AudioSamples { AudioSamples(samples: samples, channels: channels, sampleRate: sampleRate) }
}

/// Decodes WAV, MP3, FLAC, M4A/AAC (anything libavformat reads) to Float32 at a requested rate with
/// libswresample. Bad files give a `MediaError` naming the file: an empty file, a file with no
/// audio stream, one where nothing decodes. A damaged stream that still decodes in part gives the
/// part. Non-finite samples (a damaged float WAV) become 0, so they cannot poison a model.
public enum AudioDecoder {
    public static func decodeMono(path: String, sampleRate: Int = 16_000) throws -> [Float] {
        try decode(path: path, sampleRate: sampleRate, channels: 1).samples
    }

    /// `channels` 1 downmixes; 2 keeps stereo (a mono source is duplicated); nil keeps the
    /// source's channel count, capped at 2. `maxSeconds` stops decoding there, so an hours-long
    /// file costs only what is used.
    public static func decode(path: String, sampleRate: Int, channels: Int? = 1,
                              maxSeconds: Double? = nil) throws -> DecodedAudio {
        guard sampleRate > 0, sampleRate <= 384_000 else {
            throw MediaError.invalidInput(path: path, reason: "sample rate \(sampleRate) Hz is out of range")
        }
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
           (attributes[.size] as? NSNumber)?.intValue == 0 {
            throw MediaError.invalidInput(path: path, reason: "the file is empty (0 bytes)")
        }
        let decoder = try StreamDecoder(path: path, type: AVMEDIA_TYPE_AUDIO)
        guard let ctx = decoder.codec else { throw MediaError.corrupt(path: path, reason: "no decoder") }
        let sourceChannels = Int(ctx.pointee.ch_layout.nb_channels)
        let outChannels = channels ?? min(max(sourceChannels, 1), 2)
        guard outChannels == 1 || outChannels == 2 else {
            throw MediaError.invalidInput(path: path, reason: "can decode to 1 or 2 channels, not \(outChannels)")
        }
        let limit = maxSeconds.map { Int(($0 * Double(sampleRate)).rounded(.down)) * outChannels }

        // The resampler is set up from the first decoded frame (a decoder may report another
        // rate or layout than the container, e.g. HE-AAC); later frames of another format (a
        // damaged or spliced stream) are skipped, as the resampler would read past their planes.
        var swr: OpaquePointer?
        defer { swr_free(&swr) }
        var inFormat: (format: Int32, rate: Int32, channels: Int32)?
        var outLayout = AVChannelLayout()
        av_channel_layout_default(&outLayout, Int32(outChannels))
        defer { av_channel_layout_uninit(&outLayout) }

        var out: [Float] = []
        var truncated = false
        func append(_ chunk: ArraySlice<Float>) -> Bool {
            guard let limit else { out.append(contentsOf: chunk); return true }
            let room = limit - out.count
            if chunk.count >= room {
                out.append(contentsOf: chunk.prefix(room))
                truncated = true
                return false
            }
            out.append(contentsOf: chunk)
            return true
        }
        try decoder.forEachFrame { frame in
            let inCount = Int(frame.pointee.nb_samples)
            let f = frame.pointee
            guard inCount > 0, f.sample_rate > 0, f.ch_layout.nb_channels > 0 else { return true }
            if let known = inFormat {
                guard known == (f.format, f.sample_rate, f.ch_layout.nb_channels) else { return true }
            } else {
                var inLayout = AVChannelLayout()
                av_channel_layout_copy(&inLayout, &frame.pointee.ch_layout)
                defer { av_channel_layout_uninit(&inLayout) }
                var rc = swr_alloc_set_opts2(&swr, &outLayout, AV_SAMPLE_FMT_FLT, Int32(sampleRate),
                                             &inLayout, AVSampleFormat(f.format), f.sample_rate, 0, nil)
                if rc >= 0 { rc = swr_init(swr) }
                guard rc >= 0, swr != nil else { throw MediaError.corrupt(path: path, reason: "resampler: \(AV.message(rc))") }
                inFormat = (f.format, f.sample_rate, f.ch_layout.nb_channels)
            }
            let capacity = Int(max(0, swr_get_out_samples(swr, Int32(inCount)))) + 32
            var chunk = [Float](repeating: 0, count: capacity * outChannels)
            let got = chunk.withUnsafeMutableBufferPointer { buf -> Int32 in
                var dst: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self)
                // extended_data holds one pointer per plane, also past the 8 of `data`.
                guard let planes = frame.pointee.extended_data else { return -1 }
                return planes.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: Int(f.ch_layout.nb_channels)) { src in
                    swr_convert(swr, &dst, Int32(capacity), src, Int32(inCount))
                }
            }
            guard got >= 0 else { throw MediaError.corrupt(path: path, reason: "resample: \(AV.message(got))") }
            return append(chunk[0..<(Int(got) * outChannels)])
        }
        if !truncated, swr != nil {
            // Flush what the resampler holds back.
            var tail = [Float](repeating: 0, count: 4096 * outChannels)
            let got = tail.withUnsafeMutableBufferPointer { buf -> Int32 in
                var dst: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self)
                return swr_convert(swr, &dst, 4096, nil, 0)
            }
            if got > 0 { _ = append(tail[0..<(Int(got) * outChannels)]) }
        }
        guard !out.isEmpty else { throw MediaError.corrupt(path: path, reason: "no audio samples decoded") }
        out.withUnsafeMutableBufferPointer { buf in
            for i in 0..<buf.count where !buf[i].isFinite { buf[i] = 0 }
        }
        let duration = decoder.format.map { $0.pointee.duration } ?? 0
        let containerSeconds = duration > 0 ? Double(duration) / Double(AV_TIME_BASE) : nil
        return DecodedAudio(samples: out, channels: outChannels, sampleRate: sampleRate, truncated: truncated,
                            containerSeconds: containerSeconds)
    }
}
