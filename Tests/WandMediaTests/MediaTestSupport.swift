import Foundation
import XCTest
@testable import WandMedia

enum MediaTestSupport {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Tests/Fixtures/media")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    static func tempPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wand-media-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    static func toolPath(_ name: String) -> String? {
        for dir in ["/usr/bin", "/usr/local/bin", "/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
            return "\(dir)/\(name)"
        }
        return nil
    }

    static func run(_ tool: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// ffprobe's JSON for a file, or nil (and the test is skipped) if ffprobe is missing.
    static func ffprobe(_ path: String) throws -> [String: Any] {
        guard let tool = toolPath("ffprobe") else { throw XCTSkip("ffprobe CLI not installed") }
        let out = try run(tool, ["-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", path])
        return try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
    }

    static func psnr(_ a: [RGBFrame], _ b: [RGBFrame]) -> Double {
        var se = 0.0, n = 0
        for (x, y) in zip(a, b) {
            for i in 0..<x.pixels.count {
                let d = Double(x.pixels[i]) - Double(y.pixels[i])
                se += d * d
            }
            n += x.pixels.count
        }
        let mse = se / Double(n)
        return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
    }

    /// A truncated copy (first `fraction` of the bytes) and a random-bytes file with the same extension.
    static func damagedCopies(of path: String) throws -> (truncated: String, random: String) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let ext = (path as NSString).pathExtension
        let base = (path as NSString).lastPathComponent
        let truncated = tempPath("trunc-\(base)")
        try data.prefix(max(8, data.count / 3)).write(to: URL(fileURLWithPath: truncated))
        var rng = SplitMix(UInt64(data.count))
        let random = tempPath("random-\(base).\(ext)")
        try Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }).write(to: URL(fileURLWithPath: random))
        return (truncated, random)
    }
}
