import XCTest
@testable import WandTensor

/// One Vulkan backend per test process (on lavapipe in CI). Tests skip, saying why, only when
/// this machine has no Vulkan device at all; a device that exists but fails is a failure.
enum VulkanTestDevice {
    static let devices: Result<[VulkanDeviceInfo], VulkanError> = Result { try Vulkan.devices() }.mapError { $0 as! VulkanError }
    static let f32: Result<VulkanBackend, VulkanError> = make(.f32, staging: false)
    static let f16: Result<VulkanBackend, VulkanError> = make(.f16, staging: false)
    static let staging: Result<VulkanBackend, VulkanError> = make(.f32, staging: true)

    static func make(_ precision: VulkanPrecision, staging: Bool) -> Result<VulkanBackend, VulkanError> {
        Result { try VulkanBackend(precision: precision, forceStaging: staging, threads: 2) }.mapError { $0 as! VulkanError }
    }

    static func backend(_ precision: VulkanPrecision = .f32, staging: Bool = false) throws -> VulkanBackend {
        switch devices {
        case .failure(let e): throw XCTSkip("no Vulkan here (\(e.message)); the Vulkan tests need a driver such as mesa-vulkan-drivers")
        case .success(let list) where list.isEmpty: throw XCTSkip("no Vulkan device (the loader found no driver); the Vulkan tests need one such as mesa-vulkan-drivers")
        default: break
        }
        let r = staging ? Self.staging : (precision == .f32 ? f32 : f16)
        return try r.get()
    }
}

/// Deterministic values in [-1, 1) (a 64-bit LCG), so a failing case can be rerun.
struct TestValues {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: state >> 11) % (1 << 24)) / Float(1 << 23) - 1
    }
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        let n = shape.reduce(1, *)
        return try! Tensor(shape: shape, values: (0..<n).map { _ in next() * scale })
    }
}

/// Largest |a − b| / (max |b| over the tensor), and the plain relative L2 error.
func assertMatches(_ a: Tensor, _ b: Tensor, tolerance: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
    let x = a.array, y = b.array
    guard x.count == y.count else { return }
    let scale = Double(y.map { abs($0) }.max() ?? 0)
    var worst = 0.0
    for i in 0..<x.count {
        let d = abs(Double(x[i]) - Double(y[i]))
        if !(d <= worst) { worst = d }   // NaN sticks
    }
    let err = worst / Swift.max(scale, 1e-30)
    XCTAssertTrue(err <= tolerance, "\(what): max error \(err) relative to max |ref| \(scale) (tolerance \(tolerance))",
                  file: file, line: line)
}
