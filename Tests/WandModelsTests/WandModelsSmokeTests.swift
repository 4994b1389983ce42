import XCTest
@testable import WandModels

final class WandModelsSmokeTests: XCTestCase {
    func testModuleLinks() {
        XCTAssertEqual(WandModelsInfo.moduleName, "WandModels")
    }
}
