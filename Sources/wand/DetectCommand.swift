import ArgumentParser
import Foundation
import WandMedia

/// `wand detect FILE`: reads Wand's invisible watermark (imwatermark dwtDct compatible) from an MP4 or a picture.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Read the invisible watermark of a video or picture and print the 64-bit payload and confidence.")

    @Argument(help: "An .mp4/.mov/.webm video or a .png/.jpg/.webp picture.")
    var file: String

    @Option(help: "Use every k-th frame of a video.")
    var every: Int = 1

    @Option(help: "If given, also print whether the payload matches this job id.")
    var jobID: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        do {
            let detection = try WatermarkDetector.detect(path: file, every: every)
            var fields: [(String, String)] = [("payload", detection.payloadHex),
                                               ("confidence", String(format: "%.3f", detection.confidence))]
            if let jobID {
                let expected = InvisibleWatermark.payload(jobID: jobID)
                let agree = 64 - (expected ^ detection.payload).nonzeroBitCount
                fields.append(("expected", InvisibleWatermark.hex(expected)))
                fields.append(("bit_accuracy", String(format: "%.4f", Double(agree) / 64)))
            }
            if json {
                print("{" + fields.map { "\"\($0.0)\":\"\($0.1)\"" }.joined(separator: ",") + "}")
            } else {
                for (k, v) in fields { print("\(k): \(v)") }
            }
        } catch let error as MediaError {
            throw ValidationError(error.description)
        }
    }
}

/// `wand watermark-sample`: writes a marked procedural clip; the cross-check script (Tools/watermark) feeds it
/// to the Python reference reader.
struct WatermarkSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watermark-sample", abstract: "Write a watermarked procedural test clip (for cross-checks).",
        shouldDisplay: false)

    @Argument var output: String
    @Option var jobID: String
    @Option var seed: UInt64 = 1
    @Option var crf: Int = 18
    @Option var frames: Int = 8
    @Option var width: Int = 320
    @Option var height: Int = 256

    func run() throws {
        let clip = ProceduralClip.make(seed: seed, width: width, height: height, frames: frames)
        let marked = InvisibleWatermark.embed(clip, payload: InvisibleWatermark.payload(jobID: jobID))
        try MP4Writer.write(marked, to: output, settings: VideoEncoderSettings(crf: crf), metadata: nil)
        print(InvisibleWatermark.hex(InvisibleWatermark.payload(jobID: jobID)))
    }
}
