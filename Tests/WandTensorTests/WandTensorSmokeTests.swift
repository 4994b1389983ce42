import XCTest
@testable import WandTensor

final class WandTensorSmokeTests: XCTestCase {
    func testModuleLinks() {
        XCTAssertEqual(WandTensorInfo.moduleName, "WandTensor")
    }
}
