import XCTest
@testable import WandTensor

final class ScratchPoolTests: XCTestCase {
    func testReusesTheSmallestFittingBufferAndDropsTheOldestOverBudget() {
        let pool = ScratchPool()
        let small = pool.take(100), large = pool.take(1000)
        pool.give(small); pool.give(large)
        XCTAssertEqual(pool.heldFloats, 1100)
        let again = pool.take(50)
        XCTAssertEqual(again.pointer, small.pointer, "smallest buffer that fits")
        let bigger = pool.take(500)
        XCTAssertEqual(bigger.pointer, large.pointer)
        XCTAssertEqual(pool.heldFloats, 0)
        pool.give(again); pool.give(bigger)
        // Over the budget: the oldest free buffers go first.
        let huge = pool.take(ScratchPool.keepBytes / MemoryLayout<Float>.size)
        pool.give(huge)
        XCTAssertEqual(pool.heldFloats, ScratchPool.keepBytes / MemoryLayout<Float>.size)
        pool.release()
        XCTAssertEqual(pool.heldFloats, 0)
    }

    /// The conv kernels give back what they take, and releaseScratch empties the shared pool.
    func testConvGivesBuffersBackAndReleaseEmptiesThePool() throws {
        var g = TorchCPUGenerator(seed: 15)
        let backend = CPUBackend(threads: 2)
        let x = g.randn([20, 2, 9, 11]), w = g.randn([6, 20, 3, 3, 3])
        _ = try backend.conv3d(x, weight: w, bias: nil, stride: (1, 1, 1), padding: .causal(time: 1, height: 1, width: 1))
        let w3 = g.randn([6, 3, 3, 3, 3])
        _ = try backend.conv3d(g.randn([3, 2, 9, 11]), weight: w3, bias: nil, stride: (1, 1, 1), padding: .causal(time: 1, height: 1, width: 1))
        XCTAssertGreaterThan(ScratchPool.shared.heldFloats, 0)
        backend.releaseScratch()
        XCTAssertEqual(ScratchPool.shared.heldFloats, 0)
    }
}
