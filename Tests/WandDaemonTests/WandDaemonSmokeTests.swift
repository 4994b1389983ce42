import XCTest
@testable import WandDaemon

final class WandDaemonSmokeTests: XCTestCase {
    func testModuleLinks() {
        XCTAssertEqual(WandDaemonInfo.moduleName, "WandDaemon")
    }
}
