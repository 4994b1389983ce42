import Foundation
import XCTest

/// The done-when, small enough for CI: `Tools/soak/pg-soak.sh` with three real `wand serve`
/// daemons on one PostgreSQL (started by the script in a temporary folder), 30 drops, 3 kill -9s
/// with restarts and one daemon paused with SIGSTOP past its lease. The full run (300 drops,
/// 10 kills) is the same script with its defaults.
final class PGSoakTests: XCTestCase {
    func testThreeDaemonsKill9AndAPausedHostNeverPublishes() throws {
        let root = DaemonProcessTests.root
        let wand = root.appendingPathComponent(".build/debug/wand").path
        guard FileManager.default.isExecutableFile(atPath: wand) else { throw XCTSkip("build the wand binary first (swift build)") }
        let log = NSTemporaryDirectory() + "wand-soak-\(UUID().uuidString.prefix(8)).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [root.appendingPathComponent("Tools/soak/pg-soak.sh").path]
        p.environment = ProcessInfo.processInfo.environment.merging(
            ["DROPS": "30", "KILLS": "3", "STOPS": "1", "WAND": wand, "TIMEOUT": "150"]) { $1 }
        p.standardOutput = FileHandle(forWritingAtPath: log)
        p.standardError = p.standardOutput
        try p.run()
        p.waitUntilExit()
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        if p.terminationStatus == 77 { throw XCTSkip(output) }
        XCTAssertEqual(p.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("pg-soak: PASS: 30 drops exactly once"), output)
        print(output.split(separator: "\n").last ?? "")
    }
}
