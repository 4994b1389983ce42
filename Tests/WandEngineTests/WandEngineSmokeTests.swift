import XCTest
@testable import WandEngine

final class WandEngineSmokeTests: XCTestCase {
    func testModuleLinks() {
        XCTAssertEqual(WandEngineInfo.moduleName, "WandEngine")
    }
}
