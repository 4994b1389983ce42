import Foundation
import XCTest
@testable import WandDaemon

/// Every job file in Samples/ is valid with the built-in config, every demo job in Samples/demo/
/// with Config/demo.yaml, and
/// every broken one in Samples/errors/ prints exactly its .expected text.
final class JobsSamplesTests: XCTestCase {
    let samples = PackageRoot.url.appendingPathComponent("Samples")

    func testEverySampleIsValid() throws {
        let demo = try ConfigLoader.load(PackageRoot.url.appendingPathComponent("Config/demo.yaml").path)
        let names = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(names, ["animate.yaml", "batch.yaml", "edit.yaml", "i2v.yaml", "lora-4step.yaml", "s2v.yaml", "seeds.yaml",
                               "t2v.yaml", "ti2v.yaml"])
        var modes = Set<Mode>()
        for name in names {
            for config in [DaemonConfig.standard] {
                do {
                    let jobs = try JobFileParser.parse(fileAt: samples.appendingPathComponent(name).path, inbox: nil, config: config)
                    modes.formUnion(jobs.map(\.mode))
                } catch {
                    XCTFail("\(name): \(error)")
                }
            }
        }
        XCTAssertEqual(modes, Set(Mode.allCases))
        // The 4-step LoRA sample runs on the demo model: its recipe and LoRA resolve with Config/demo.yaml.
        let fast = try JobFileParser.parse(fileAt: samples.appendingPathComponent("lora-4step.yaml").path, inbox: nil, config: demo)[0]
        XCTAssertEqual(fast.model, "wand-demo")
        XCTAssertEqual([fast.steps, fast.frames], [4, 17])
        XCTAssertEqual(fast.guidance, .single(1))
        XCTAssertEqual(fast.loras?.map(\.path.lastPathComponent), ["wand-demo-4step.safetensors"])
        let demoFolder = samples.appendingPathComponent("demo")
        let demoJobs = try FileManager.default.contentsOfDirectory(atPath: demoFolder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(demoJobs, ["circle.yaml", "edit.yaml", "from-image.yaml"])
        for name in demoJobs {
            XCTAssertNoThrow(try JobFileParser.parse(fileAt: demoFolder.appendingPathComponent(name).path, inbox: nil, config: demo), name)
        }
    }

    func testErrorSamplesPrintExactlyTheirExpectedOutput() throws {
        let errors = samples.appendingPathComponent("errors")
        let names = try FileManager.default.contentsOfDirectory(atPath: errors.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 7)
        let prefix = PackageRoot.url.standardizedFileURL.path + "/"
        for name in names {
            let file = errors.appendingPathComponent(name)
            let expected = try String(contentsOf: file.deletingPathExtension().appendingPathExtension("expected"), encoding: .utf8)
            do {
                _ = try JobFileParser.parse(fileAt: file.standardizedFileURL.path, inbox: nil, config: .standard)
                XCTFail("\(name) parsed without errors")
            } catch {
                let printed = error.diagnostics.map { String($0.description.dropFirst(prefix.count)) + "\n" }.joined()
                XCTAssertEqual(printed, expected, name)
            }
        }
    }

    func testConfigErrorSamplePrintsExactlyItsExpectedOutput() throws {
        let file = samples.appendingPathComponent("errors/config/wand.yaml").standardizedFileURL
        let expected = try String(contentsOf: samples.appendingPathComponent("errors/config/wand.expected"), encoding: .utf8)
        let prefix = PackageRoot.url.standardizedFileURL.path + "/"
        do {
            _ = try ConfigLoader.load(file.path)
            XCTFail("the broken config loaded")
        } catch {
            XCTAssertEqual(error.diagnostics.map { String($0.description.dropFirst(prefix.count)) + "\n" }.joined(), expected)
        }
    }
}
