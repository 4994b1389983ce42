// SIMD exp and friends for the hot loops (softmax, attention, SiLU, GELU). exp uses the cephes
// range reduction x = n·ln2 + r with a degree-5 polynomial: about 1 ulp, far inside the 1e-5
// tolerance the ops are held to.
typealias F8 = SIMD8<Float>

@inline(__always)
func exp8(_ input: F8) -> F8 {
    var x = input
    x.replace(with: F8(repeating: 88.37626), where: x .> 88.37626)
    return expNonPositive8(x)
}

/// exp for inputs <= 88.4 (softmax after subtracting the row max). Rounding to the nearest
/// integer uses the 1.5·2²³ trick instead of SIMD `rounded`/`Int32(rounding:)`, which the
/// standard library lowers to one libm call per lane (30× slower).
@inline(__always)
func expNonPositive8(_ input: F8) -> F8 {
    var x = input
    x.replace(with: F8(repeating: -87.33654), where: x .< -87.33654)
    let magic = F8(repeating: 12_582_912)
    let t = x * 1.442695041 + magic
    let n = t - magic
    var r = x - n * 0.693359375
    r = r + n * 2.12194440e-4
    let z = r * r
    var y = F8(repeating: 1.9875691500e-4)
    y = y * r + 1.3981999507e-3
    y = y * r + 8.3334519073e-3
    y = y * r + 4.1665795894e-2
    y = y * r + 1.6666665459e-1
    y = y * r + 5.0000001201e-1
    y = y * z + r + 1
    let exponent = (unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return y * unsafeBitCast(exponent, to: F8.self)
}

@inline(__always)
func expScalar(_ x: Float) -> Float { exp8(F8(repeating: x))[0] }

/// Apply `vector` to 8 floats at a time and `scalar` to the tail, from src to dst (may alias).
@inline(__always)
func mapFloats(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int,
               vector: (F8) -> F8, scalar: (Float) -> Float) {
    var i = 0
    let sraw = UnsafeRawPointer(src), draw = UnsafeMutableRawPointer(dst)
    while i + 8 <= n {
        let v = sraw.loadUnaligned(fromByteOffset: i * 4, as: F8.self)
        draw.storeBytes(of: vector(v), toByteOffset: i * 4, as: F8.self)
        i += 8
    }
    while i < n { dst[i] = scalar(src[i]); i += 1 }
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> F8 { UnsafeRawPointer(p).loadUnaligned(as: F8.self) }
@inline(__always)
func store8(_ v: F8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: F8.self) }
