import CAV

/// RGB <-> YUV with the BT.709 matrix in limited ("tv") range, which is what our MP4s are tagged with.
enum ColorConversion {
    static func rgbToYUV420BT709(_ frame: RGBFrame, into out: UnsafeMutablePointer<AVFrame>) {
        let w = frame.width, h = frame.height
        let yPlane = out.plane(0), uPlane = out.plane(1), vPlane = out.plane(2)
        let yStride = out.stride(0), uStride = out.stride(1), vStride = out.stride(2)
        frame.pixels.withUnsafeBufferPointer { px in
            for y in 0..<h {
                for x in 0..<w {
                    let i = (y * w + x) * 3
                    let r = Float(px[i]), g = Float(px[i + 1]), b = Float(px[i + 2])
                    let luma = 0.2126 * r + 0.7152 * g + 0.0722 * b
                    yPlane[y * yStride + x] = clampByte(16 + luma * (219.0 / 255.0))
                }
            }
            for cy in 0..<(h / 2) {
                for cx in 0..<(w / 2) {
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    for dy in 0...1 {
                        for dx in 0...1 {
                            let i = ((cy * 2 + dy) * w + cx * 2 + dx) * 3
                            r += Float(px[i]); g += Float(px[i + 1]); b += Float(px[i + 2])
                        }
                    }
                    r *= 0.25; g *= 0.25; b *= 0.25
                    let luma = 0.2126 * r + 0.7152 * g + 0.0722 * b
                    let cb = (b - luma) / 1.8556
                    let cr = (r - luma) / 1.5748
                    uPlane[cy * uStride + cx] = clampByte(128 + cb * (224.0 / 255.0))
                    vPlane[cy * vStride + cx] = clampByte(128 + cr * (224.0 / 255.0))
                }
            }
        }
    }

    @inline(__always) static func clampByte(_ v: Float) -> UInt8 {
        UInt8(max(0, min(255, v.rounded())))
    }
}
