import CAV
import Foundation

/// One RGB24 picture, rows top to bottom, 3 bytes per pixel, no padding. This is what the engine hands over.
public struct RGBFrame: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBFrame: pixels must hold width*height*3 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: fill, count: width * height * 3))
    }
}

/// A clip: frames of one size at a fixed frame rate.
public struct VideoFrames: Sendable {
    public var frames: [RGBFrame]
    public var fps: Int
    public init(frames: [RGBFrame], fps: Int) {
        self.frames = frames
        self.fps = fps
    }
}

/// Audio samples, interleaved Float32 in [-1, 1].
public struct AudioSamples: Sendable {
    public var samples: [Float]
    public var channels: Int
    public var sampleRate: Int
    public init(samples: [Float], channels: Int, sampleRate: Int) {
        self.samples = samples
        self.channels = channels
        self.sampleRate = sampleRate
    }
}

/// Every failure of WandMedia, with the file it concerns.
public enum MediaError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case noStream(path: String, kind: String)
    case codecUnavailable(name: String)
    case invalidInput(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case encodeFailed(path: String, stage: String, reason: String)
    case fontNotFound(script: String, searched: [String])
    case filterFailed(reason: String)

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "\(path): cannot open: \(reason)"
        case let .noStream(path, kind): return "\(path): no \(kind) stream"
        case let .codecUnavailable(name): return "codec \(name) is not available in this libavcodec"
        case let .invalidInput(path, reason): return "\(path): invalid input: \(reason)"
        case let .corrupt(path, reason): return "\(path): corrupt or truncated: \(reason)"
        case let .encodeFailed(path, stage, reason): return "\(path): encoding failed at \(stage): \(reason)"
        case let .fontNotFound(script, searched):
            return "no font for \(script) text; looked for \(searched.joined(separator: ", "))"
        case let .filterFailed(reason): return "libavfilter: \(reason)"
        }
    }
}

/// libav error helpers: the AVERROR macros do not import into Swift.
enum AV {
    static let eagain: Int32 = -EAGAIN
    static let eof: Int32 = -Int32(bitPattern: 0x2046_4F45)  // -MKTAG('E','O','F',' ')

    /// libav prints probing chatter on stderr by default; keep only errors. Called before any libav use.
    static let quiet: Void = av_log_set_level(16)  // AV_LOG_ERROR

    static func message(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buf, buf.count)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The data/linesize arrays of an AVFrame are C tuples; these view them as pointers.
extension UnsafeMutablePointer where Pointee == AVFrame {
    func plane(_ i: Int) -> UnsafeMutablePointer<UInt8> {
        withUnsafeMutablePointer(to: &pointee.data) {
            $0.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 8) { $0[i]! }
        }
    }
    func stride(_ i: Int) -> Int {
        withUnsafeMutablePointer(to: &pointee.linesize) {
            $0.withMemoryRebound(to: Int32.self, capacity: 8) { Int($0[i]) }
        }
    }
}
