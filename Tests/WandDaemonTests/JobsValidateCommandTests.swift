import Foundation
import XCTest

/// Runs the built `wand validate` the way a user does (from the package root) and checks the exit
/// status and the exact output. Skipped when the executable has not been built.
final class JobsValidateCommandTests: XCTestCase {
    private func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let binary = PackageRoot.url.appendingPathComponent(".build/debug/wand")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw XCTSkip("wand is not built at \(binary.path)")
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["validate"] + arguments
        process.currentDirectoryURL = PackageRoot.url
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testSamplesAndConfigsAreValid() throws {
        let samples = ["animate", "batch", "edit", "i2v", "s2v", "seeds", "t2v", "ti2v"].map { "Samples/\($0).yaml" }
        let plain = try run(samples)
        XCTAssertEqual(plain.status, 0, plain.output)
        XCTAssertEqual(plain.output, "")
        let withConfig = try run(["--config", "Config/demo.yaml", "Samples/demo/circle.yaml", "Samples/demo/from-image.yaml", "Samples/demo/edit.yaml"])
        XCTAssertEqual(withConfig.status, 0, withConfig.output)
        XCTAssertEqual(try run(["--config", "Config/wand.yaml"]).status, 0)
    }

    func testErrorsArePrintedForEveryFileAndExitIsOne() throws {
        let result = try run(["Samples/t2v.yaml", "Samples/errors/frames.yaml", "Samples/errors/typo.yaml"])
        XCTAssertEqual(result.status, 1)
        let expected = try ["frames", "typo"].map {
            try String(contentsOf: PackageRoot.url.appendingPathComponent("Samples/errors/\($0).expected"), encoding: .utf8)
        }.joined()
        XCTAssertEqual(result.output, expected)
    }
}
