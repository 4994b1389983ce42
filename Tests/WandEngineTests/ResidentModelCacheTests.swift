import XCTest
@testable import WandEngine

final class ResidentModelCacheTests: XCTestCase {
    actor LoadCounter {
        var count: [String: Int] = [:]
        func hit(_ key: String) { count[key, default: 0] += 1 }
        func loads(_ key: String) -> Int { count[key] ?? 0 }
    }

    func testSecondUseIsWarm() async throws {
        let cache = ResidentModelCache(budgetBytes: 100)
        let counter = LoadCounter()
        let first = try await cache.value(for: "ti2v-5b", as: String.self) { await counter.hit("ti2v-5b"); return ("model", 10) }
        let second = try await cache.value(for: "ti2v-5b", as: String.self) { await counter.hit("ti2v-5b"); return ("model", 10) }
        XCTAssertFalse(first.wasWarm)
        XCTAssertTrue(second.wasWarm)
        let loads = await counter.loads("ti2v-5b")
        XCTAssertEqual(loads, 1)
    }

    func testConcurrentRequestsShareOneLoad() async throws {
        let cache = ResidentModelCache(budgetBytes: 100)
        let counter = LoadCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    _ = try await cache.value(for: "umt5", as: Int.self) {
                        await counter.hit("umt5")
                        try await Task.sleep(nanoseconds: 20_000_000)
                        return (7, 30)
                    }
                }
            }
            try await group.waitForAll()
        }
        let loads = await counter.loads("umt5")
        XCTAssertEqual(loads, 1)
    }

    func testLeastRecentlyUsedIsEvictedFirstAndPinnedStays() async throws {
        let cache = ResidentModelCache(budgetBytes: 100, pinned: ["vae"])
        _ = try await cache.value(for: "vae", as: Int.self) { (0, 20) }
        _ = try await cache.value(for: "a", as: Int.self) { (1, 40) }
        _ = try await cache.value(for: "b", as: Int.self) { (2, 40) }
        _ = try await cache.value(for: "a", as: Int.self) { (1, 40) }   // a is now more recent than b
        _ = try await cache.value(for: "c", as: Int.self) { (3, 40) }   // must evict b, not a or vae
        let keys = await cache.residentKeys
        XCTAssertEqual(keys, ["a", "c", "vae"])
        let resident = await cache.residentBytes
        XCTAssertLessThanOrEqual(resident, 100)
    }

    func testTooLargeForBudgetIsAClearError() async {
        let cache = ResidentModelCache(budgetBytes: 50)
        do {
            _ = try await cache.value(for: "t2v-a14b/high_noise", as: Int.self) { (1, 80) }
            XCTFail("expected a budget error")
        } catch let error as CacheBudgetError {
            XCTAssertTrue(error.description.contains("t2v-a14b/high_noise"))
        } catch { XCTFail("unexpected \(error)") }
        let keys = await cache.residentKeys
        XCTAssertEqual(keys, [])
    }

    func testFailedLoadLeavesNothingAndRetries() async throws {
        struct Boom: Error {}
        let cache = ResidentModelCache(budgetBytes: 50)
        do {
            _ = try await cache.value(for: "m", as: Int.self) { throw Boom() }
            XCTFail("expected the load error")
        } catch is Boom {}
        let again = try await cache.value(for: "m", as: Int.self) { (5, 1) }
        XCTAssertEqual(again.value, 5)
        XCTAssertFalse(again.wasWarm)
    }
}
