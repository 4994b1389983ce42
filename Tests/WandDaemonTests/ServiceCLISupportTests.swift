import XCTest
import Foundation
@testable import WandDaemon

final class ServiceCLISupportTests: XCTestCase {
    func testSocketFlagWinsOverEverything() throws {
        XCTAssertEqual(try ControlSocketPath.resolve(socket: "/x/y.sock", configPath: "/nonexistent.yaml"), "/x/y.sock")
        XCTAssertEqual(try ControlSocketPath.resolve(socket: nil, configPath: nil), "/var/lib/wand/control.sock")
    }

    func testControlSocketKeyThenStateDirRelativeToConfigFolder() {
        let config = "/etc/wand/wand.yaml"
        XCTAssertEqual(ControlSocketPath.resolve(configText: "state_dir: /var/lib/wand2\n", configPath: config),
                       "/var/lib/wand2/control.sock")
        XCTAssertEqual(ControlSocketPath.resolve(configText: "state_dir: state/ # here\n", configPath: config),
                       "/etc/wand/state/control.sock")
        XCTAssertEqual(ControlSocketPath.resolve(configText: "state_dir: /s\ncontrol_socket: \"../run/c.sock\"\n", configPath: config),
                       "/etc/run/c.sock")
        // Nested keys with the same name belong to something else.
        XCTAssertEqual(ControlSocketPath.resolve(configText: "folders:\n  state_dir: /nope\n", configPath: config),
                       "/var/lib/wand/control.sock")
    }

    func testUnreadableConfigIsAnError() {
        XCTAssertThrowsError(try ControlSocketPath.resolve(socket: nil, configPath: "/nonexistent/wand.yaml"))
    }

    func testStatusLine() {
        let busy = ControlStatus(queueLength: 3, runningJobID: "j1", runningJobName: "beach-cat",
                                 runningStage: "denoising", runningStep: 12, runningTotal: 40, paused: false)
        XCTAssertEqual(ControlOutput.statusLine(busy), "queued: 3  running: beach-cat (denoising 12/40)  paused: no")
        var timed = busy
        timed.runningSecondsLeft = 247
        XCTAssertEqual(ControlOutput.statusLine(timed), "queued: 3  running: beach-cat (denoising 12/40, 4:07 left)  paused: no")
        XCTAssertEqual(ControlOutput.statusLine(ControlStatus(queueLength: 0, paused: true)),
                       "queued: 0  running: none  paused: yes")
    }

    func testJobTableAndErrorRendering() {
        let table = ControlOutput.jobTable([
            ControlJob(id: "a1", name: "beach-cat", state: "running", attempts: 1, priority: 0),
            ControlJob(id: "b22", name: "dog", state: "queued", attempts: 0, priority: 10),
        ])
        XCTAssertEqual(table, """
            ID   NAME       STATE    ATTEMPTS  PRIORITY
            a1   beach-cat  running  1         0
            b22  dog        queued   0         10
            """)
        let refused = ControlOutput.render(ControlResponse(ok: false, error: "config refused",
                                                           errors: ["wand.yaml:3:7: unknown key"]))
        XCTAssertEqual(refused.stdout, [])
        XCTAssertEqual(refused.stderr, ["error: config refused", "  wand.yaml:3:7: unknown key"])
        XCTAssertEqual(ControlOutput.render(ControlResponse(ok: true)).stdout, ["ok"])
    }
}
