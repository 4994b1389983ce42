import XCTest
@testable import WandMedia

final class WandMediaSmokeTests: XCTestCase {
    func testModuleLinks() {
        XCTAssertEqual(WandMediaInfo.moduleName, "WandMedia")
    }
}
