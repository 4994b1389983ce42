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
        let samples = ["animate", "batch", "edit", "i2v", "lora-4step", "s2v", "seeds", "t2v", "ti2v"].map { "Samples/\($0).yaml" }
        let plain = try run(samples)
        XCTAssertEqual(plain.status, 0, plain.output)
        XCTAssertEqual(plain.output, "")
        let withConfig = try run(["--config", "Config/demo.yaml", "Samples/demo/circle.yaml", "Samples/demo/from-image.yaml", "Samples/demo/edit.yaml",
                                  "Samples/lora-4step.yaml"])
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

/// Every `$ wand validate …` example in the README prints exactly what the README shows.
final class ReadmeExamplesTests: XCTestCase {
    func testReadmeErrorExamplesReproduceExactly() throws {
        let binary = PackageRoot.url.appendingPathComponent(".build/debug/wand").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("build the wand binary first") }
        let readme = try String(contentsOf: PackageRoot.url.appendingPathComponent("README.md"), encoding: .utf8)
        var examples: [(args: [String], expected: String)] = []
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("$ wand validate ") {
                examples.append((line.dropFirst("$ wand ".count).split(separator: " ").map(String.init), ""))
            } else if !examples.isEmpty, line.hasPrefix("Samples/errors/") {
                examples[examples.count - 1].expected += line + "\n"
            }
        }
        XCTAssertGreaterThanOrEqual(examples.count, 5)
        for (args, expected) in examples {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = args
            process.currentDirectoryURL = PackageRoot.url
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 1, args.joined(separator: " "))
            XCTAssertEqual(output, expected, args.joined(separator: " "))
        }
    }
}
