import XCTest
import Foundation

/// Checks the shipped unit files with systemd's own parser, so a misspelt directive
/// (which systemd merely warns about and ignores) fails here instead of silently in production.
final class ServiceSystemdUnitTests: XCTestCase {
    private var systemdFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("systemd")
    }

    private func findAnalyzer() -> String? {
        ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func testUnitsPassSystemdAnalyzeVerify() throws {
        guard let analyzer = findAnalyzer() else {
            throw XCTSkip("systemd-analyze is not installed; cannot verify systemd/wand.service (apt-get install systemd)")
        }
        let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("wand-units-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        // The real binary is not installed here; verify checks that ExecStart= points at an executable.
        let service = try String(contentsOf: systemdFolder.appendingPathComponent("wand.service"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in
                line.hasPrefix("ExecStart=") ? "ExecStart=/bin/true"
                    : line.hasPrefix("ExecReload=") ? "ExecReload=/bin/true" : String(line)
            }
            .joined(separator: "\n")
        try service.write(to: work.appendingPathComponent("wand.service"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: systemdFolder.appendingPathComponent("wand.socket"),
                                         to: work.appendingPathComponent("wand.socket"))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyzer)
        process.arguments = ["verify", "--man=no",
                             work.appendingPathComponent("wand.service").path, work.appendingPathComponent("wand.socket").path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, text)
        let problems = text.split(separator: "\n").filter { $0.contains("wand.service") || $0.contains("wand.socket") }
        XCTAssertEqual(problems, [], "systemd-analyze verify complained:\n\(text)")
    }

    func testServiceCarriesTheRequiredSettings() throws {
        let service = try String(contentsOf: systemdFolder.appendingPathComponent("wand.service"), encoding: .utf8)
        let lines = Set(service.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") })
        for required in ["Type=notify", "NotifyAccess=main", "WatchdogSec=120", "User=wand", "UMask=0002",
                         "ProtectSystem=strict", "DeviceAllow=char-nvidia-uvm rw", "Environment=WAND_LOG=journal"] {
            XCTAssertTrue(lines.contains(required), required)
        }
        // Either would hide or block the GPU device nodes CUDA needs.
        XCTAssertFalse(lines.contains { $0.hasPrefix("PrivateDevices=") || $0.hasPrefix("DevicePolicy=") || $0.hasPrefix("DynamicUser=") })
    }

    func testTmpfilesAndSysusersLines() throws {
        let tmpfiles = try String(contentsOf: systemdFolder.appendingPathComponent("wand-tmpfiles.conf"), encoding: .utf8)
        let entries = tmpfiles.split(separator: "\n").filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        for folder in ["/srv/wand", "/srv/wand/inbox", "/srv/wand/outbox", "/srv/wand/failed"] {
            let entry = try XCTUnwrap(entries.first { $0.count >= 5 && $0[1] == folder }, folder)
            XCTAssertEqual(Array(entry[0...4]), ["d", folder, "2775", "wand", "media"])
        }
        let sysusers = try String(contentsOf: systemdFolder.appendingPathComponent("wand-sysusers.conf"), encoding: .utf8)
        XCTAssertTrue(sysusers.contains("u wand - \"Wand video daemon\" /var/lib/wand"))
        XCTAssertTrue(sysusers.contains("m wand media"))
    }
}
