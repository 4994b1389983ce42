import Foundation

/// One call for a finished job: visible label -> invisible mark -> MP4 -> NFO + poster beside it.
public enum VideoPublisher {
    public struct Options: Sendable {
        public var settings: VideoEncoderSettings
        public var label: VisibleWatermarkConfig?
        /// Mark every k-th frame with the invisible watermark; nil = no invisible mark.
        public var invisibleEvery: Int?
        public var writeNFO: Bool
        public var writePoster: Bool
        public init(settings: VideoEncoderSettings = .init(), label: VisibleWatermarkConfig? = VisibleWatermarkConfig(),
                    invisibleEvery: Int? = 1, writeNFO: Bool = true, writePoster: Bool = true) {
            self.settings = settings
            self.label = label
            self.invisibleEvery = invisibleEvery
            self.writeNFO = writeNFO
            self.writePoster = writePoster
        }
    }

    public struct Written: Sendable {
        public var video: String
        public var nfo: String?
        public var poster: String?
        public var payloadHex: String?
    }

    public static func publish(_ clip: VideoFrames, to path: String, metadata: MP4Metadata,
                               audio: AudioSamples? = nil, options: Options = .init()) throws -> Written {
        var frames = clip
        if let label = options.label { frames = try VisibleWatermark(config: label).apply(frames) }
        var payloadHex: String?
        if let every = options.invisibleEvery {
            let payload = InvisibleWatermark.payload(jobID: metadata.jobID)
            frames = InvisibleWatermark.embed(frames, payload: payload, every: every)
            payloadHex = InvisibleWatermark.hex(payload)
        }
        try MP4Writer.write(frames, to: path, settings: options.settings, metadata: metadata, audio: audio)
        var written = Written(video: path, payloadHex: payloadHex)
        if options.writeNFO {
            let nfo = SidecarWriter.nfoPath(forVideo: path)
            try SidecarWriter.writeNFO(.init(title: metadata.title, prompt: metadata.prompt,
                                             dateAdded: metadata.creationTime), to: nfo)
            written.nfo = nfo
        }
        if options.writePoster, !frames.frames.isEmpty {
            let poster = SidecarWriter.posterPath(forVideo: path)
            try SidecarWriter.writePoster(frames.frames[frames.frames.count / 2], to: poster)
            written.poster = poster
        }
        return written
    }
}
