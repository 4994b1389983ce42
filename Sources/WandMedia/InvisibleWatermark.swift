/// The 'dwtDct' invisible watermark of the Python `invisible-watermark` package (imwatermark 0.2.0),
/// re-implemented from its documented algorithm so that marks made by either side are read by the other:
///
/// - colour: OpenCV BGR2YUV on 8-bit pixels (Y = .299R + .587G + .114B, U = .492(B - Y) + 128), rounded;
///   only the U channel carries the mark (imwatermark's default scales [0, 36, 36] over `range(2)` channels).
/// - the U plane cropped to multiples of 4 goes through one level of the orthonormal Haar DWT; only LL is used,
///   LL[i][j] = (sum of the 2x2 pixel block) / 2.
/// - LL is cut into 4x4 blocks in row-major order; block n carries payload bit n % 64. In each block the entry
///   of largest magnitude other than [0][0] is quantised: |v| -> (floor(|v| / 36) + 0.25 + 0.5 * bit) * 36,
///   sign kept. (imwatermark calls this "dct" but applies no DCT on this path.)
/// - reading: bit = (|v| mod 36) > 18 per block; votes are averaged per bit, 1 if mean > 127/255.
///
/// Payload: 64 bits, most significant bit first (numpy unpackbits order), = first 8 bytes of SHA-256(job id, UTF-8).
public enum InvisibleWatermark {
    public static let bitCount = 64
    public static let scale: Float = 36
    static let block = 4

    public struct Detection: Sendable, Equatable {
        public var payload: UInt64
        /// Mean over bits of |2 p - 1|, p the share of votes for 1: 1 = every block agrees, about 0 = no mark.
        public var confidence: Double
        public var payloadHex: String { hex(payload) }
    }

    /// Per-bit votes; add those of several frames, then `decide`.
    public struct Votes: Sendable {
        public var ones = [Int](repeating: 0, count: bitCount)
        public var total = [Int](repeating: 0, count: bitCount)
        public init() {}
        public mutating func add(_ other: Votes) {
            for i in 0..<bitCount { ones[i] += other.ones[i]; total[i] += other.total[i] }
        }
        public var isEmpty: Bool { total.allSatisfy { $0 == 0 } }

        public func decide() -> Detection {
            var payload: UInt64 = 0
            var confidence = 0.0
            for i in 0..<bitCount {
                let p = total[i] > 0 ? Double(ones[i]) / Double(total[i]) : 0.5
                if p * 255 > 127 { payload |= 1 << UInt64(bitCount - 1 - i) }
                confidence += abs(2 * p - 1)
            }
            return Detection(payload: payload, confidence: confidence / Double(bitCount))
        }
    }

    public static func payload(jobID: String) -> UInt64 {
        SHA256.hash(Array(jobID.utf8)).prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public static func hex(_ payload: UInt64) -> String {
        let s = String(payload, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    static func bit(_ payload: UInt64, _ index: Int) -> Int { Int((payload >> UInt64(bitCount - 1 - index)) & 1) }

    @inline(__always) static func opencvU(_ r: Float, _ g: Float, _ b: Float) -> Float {
        let y = 0.299 * r + 0.587 * g + 0.114 * b
        return max(0, min(255, (0.492 * (b - y) + 128).rounded()))
    }

    /// Position (1...15) of the largest-magnitude entry of a 4x4 block other than [0][0]; first one on ties.
    @inline(__always) static func peak(_ v: [Float]) -> Int {
        var best = 1
        for k in 2..<16 where abs(v[k]) > abs(v[best]) { best = k }
        return best
    }

    /// The U plane of the area used (width and height cropped to multiples of 4), row-major.
    static func uPlane(_ frame: RGBFrame) -> (u: [Float], w: Int, h: Int) {
        let w = frame.width / 4 * 4, h = frame.height / 4 * 4
        var u = [Float](repeating: 0, count: w * h)
        frame.pixels.withUnsafeBufferPointer { px in
            for y in 0..<h {
                for x in 0..<w {
                    let i = (y * frame.width + x) * 3
                    u[y * w + x] = opencvU(Float(px[i]), Float(px[i + 1]), Float(px[i + 2]))
                }
            }
        }
        return (u, w, h)
    }

    /// Runs `body(blockIndex, llValues, llRow0, llCol0)` over the 4x4 LL blocks in imwatermark's order.
    static func forEachBlock(u: [Float], w: Int, h: Int, _ body: (Int, [Float], Int, Int) -> Void) {
        let llW = w / 2, llH = h / 2
        var values = [Float](repeating: 0, count: 16)
        var n = 0
        for bi in 0..<(llH / block) {
            for bj in 0..<(llW / block) {
                for a in 0..<block {
                    for b in 0..<block {
                        let y = (bi * block + a) * 2, x = (bj * block + b) * 2
                        values[a * block + b] = (u[y * w + x] + u[y * w + x + 1] + u[(y + 1) * w + x] + u[(y + 1) * w + x + 1]) / 2
                    }
                }
                body(n, values, bi * block, bj * block)
                n += 1
            }
        }
    }

    /// Marks one frame. Frames smaller than 256x256 are marked too, with fewer votes per bit.
    public static func embed(_ frame: RGBFrame, payload: UInt64) -> RGBFrame {
        let (u, w, h) = uPlane(frame)
        var out = frame
        out.pixels.withUnsafeMutableBufferPointer { px in
            forEachBlock(u: u, w: w, h: h) { n, values, row0, col0 in
                let k = peak(values)
                let v = values[k]
                let b = Float(bit(payload, n % bitCount))
                let target = ((abs(v) / scale).rounded(.down) + 0.25 + 0.5 * b) * scale * (v < 0 ? -1 : 1)
                // Changing LL by d moves each of the four U pixels by d/2 (inverse orthonormal Haar);
                // U = .492 (B - Y) is moved by changing B and G with R fixed, as OpenCV's YUV2BGR does.
                let du = (target - v) / 2
                let y0 = (row0 + k / block) * 2, x0 = (col0 + k % block) * 2
                for dy in 0...1 {
                    for dx in 0...1 {
                        let i = ((y0 + dy) * frame.width + x0 + dx) * 3
                        px[i + 1] = clampByte(Float(px[i + 1]) - 0.395 * du)
                        px[i + 2] = clampByte(Float(px[i + 2]) + 2.032 * du)
                    }
                }
            }
        }
        return out
    }

    public static func votes(_ frame: RGBFrame) -> Votes {
        let (u, w, h) = uPlane(frame)
        var votes = Votes()
        forEachBlock(u: u, w: w, h: h) { n, values, _, _ in
            let v = abs(values[peak(values)])
            let i = n % bitCount
            votes.total[i] += 1
            if v.truncatingRemainder(dividingBy: scale) > 0.5 * scale { votes.ones[i] += 1 }
        }
        return votes
    }

    public static func detect(_ frame: RGBFrame) -> Detection { votes(frame).decide() }

    /// Marks every `every`-th frame of a clip (every = 1: all frames).
    public static func embed(_ clip: VideoFrames, payload: UInt64, every: Int = 1) -> VideoFrames {
        var out = clip
        for i in out.frames.indices where i % max(1, every) == 0 {
            out.frames[i] = embed(out.frames[i], payload: payload)
        }
        return out
    }

    @inline(__always) static func clampByte(_ v: Float) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }
}
