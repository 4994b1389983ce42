import CAV
import Foundation

/// Decodes WAV, MP3, FLAC, M4A/AAC (anything libavformat reads) to mono Float32 at a requested rate.
public enum AudioDecoder {
    public static func decodeMono(path: String, sampleRate: Int = 16_000) throws -> [Float] {
        let decoder = try StreamDecoder(path: path, type: AVMEDIA_TYPE_AUDIO)
        guard let ctx = decoder.codec else { throw MediaError.corrupt(path: path, reason: "no decoder") }
        var swr: OpaquePointer?
        var mono = AVChannelLayout()
        av_channel_layout_default(&mono, 1)
        var inLayout = AVChannelLayout()
        if ctx.pointee.ch_layout.nb_channels > 0 {
            av_channel_layout_copy(&inLayout, &ctx.pointee.ch_layout)
        } else {
            av_channel_layout_default(&inLayout, 1)
        }
        defer { av_channel_layout_uninit(&inLayout); av_channel_layout_uninit(&mono) }
        var rc = swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_FLT, Int32(sampleRate),
                                     &inLayout, ctx.pointee.sample_fmt, ctx.pointee.sample_rate, 0, nil)
        if rc >= 0 { rc = swr_init(swr) }
        defer { swr_free(&swr) }
        guard rc >= 0, let swr else { throw MediaError.corrupt(path: path, reason: "resampler: \(AV.message(rc))") }
        var out: [Float] = []
        try decoder.forEachFrame { frame in
            let inCount = Int(frame.pointee.nb_samples)
            let capacity = Int(swr_get_out_samples(swr, Int32(inCount))) + 32
            var chunk = [Float](repeating: 0, count: capacity)
            let got = chunk.withUnsafeMutableBufferPointer { buf -> Int32 in
                var dst: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self)
                return withUnsafeMutablePointer(to: &frame.pointee.data) { dataPtr in
                    dataPtr.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                        swr_convert(swr, &dst, Int32(capacity), src, Int32(inCount))
                    }
                }
            }
            guard got >= 0 else { throw MediaError.corrupt(path: path, reason: "resample: \(AV.message(got))") }
            out.append(contentsOf: chunk[0..<Int(got)])
            return true
        }
        // Flush what the resampler holds back.
        var tail = [Float](repeating: 0, count: 4096)
        let got = tail.withUnsafeMutableBufferPointer { buf -> Int32 in
            var dst: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self)
            return swr_convert(swr, &dst, 4096, nil, 0)
        }
        if got > 0 { out.append(contentsOf: tail[0..<Int(got)]) }
        return out
    }
}
