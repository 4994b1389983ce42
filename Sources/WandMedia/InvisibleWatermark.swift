/// The 'dwtDct' invisible watermark of the Python `invisible-watermark` package (imwatermark 0.2.0),
/// re-implemented from its documented algorithm so that marks made by either side are read by the other:
///
/// - colour: OpenCV BGR2YUV on 8-bit pixels (Y = .299R + .587G + .114B, U = .492(B - Y) + 128, fixed point);
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
    public static let scale: Double = 36
    static let block = 4
    /// How far from the ideal residue (9 or 27) a marked peak may stay; 0 = exactly on it. Set from measurements
    /// (Tools/watermark/crosscheck.py, the CRF 18/23 test): 4 keeps 64/64 bits at CRF 23 and raises PSNR ~3 dB.
    static let tolerance: Double = 4

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

    /// OpenCV's 8-bit BGR2YUV U, bit-exact: 14-bit fixed point, Y rounded to an integer first.
    @inline(__always) static func opencvU(_ r: Int32, _ g: Int32, _ b: Int32) -> Float {
        let y = (r * 4899 + g * 9617 + b * 1868 + 8192) >> 14
        let u = ((b - y) * 8061 + (128 << 14) + 8192) >> 14
        return Float(max(0, min(255, u)))
    }

    /// Position (1...15) of the largest-magnitude entry of a 4x4 block other than [0][0]; first one on ties.
    @inline(__always) static func peak(_ v: [Double]) -> Int {
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
                    u[y * w + x] = opencvU(Int32(px[i]), Int32(px[i + 1]), Int32(px[i + 2]))
                }
            }
        }
        return (u, w, h)
    }

    /// Runs `body(blockIndex, llValues, llRow0, llCol0)` over the 4x4 LL blocks in imwatermark's order.
    static let haar = 0.7071067811865476  // pywt's Haar filter tap (1/sqrt 2 in float64)

    static func forEachBlock(u: [Float], w: Int, h: Int, _ body: (Int, [Double], Int, Int) -> Void) {
        let llW = w / 2, llH = h / 2
        var values = [Double](repeating: 0, count: 16)
        var n = 0
        for bi in 0..<(llH / block) {
            for bj in 0..<(llW / block) {
                for a in 0..<block {
                    for b in 0..<block {
                        let y = (bi * block + a) * 2, x = (bj * block + b) * 2
                        // pywt's arithmetic in float64, so that residues exactly at 18 read as pywt reads them.
                        let left = Double(u[y * w + x]) * haar + Double(u[(y + 1) * w + x]) * haar
                        let right = Double(u[y * w + x + 1]) * haar + Double(u[(y + 1) * w + x + 1]) * haar
                        values[a * block + b] = left * haar + right * haar
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
                let b = Double(bit(payload, n % bitCount))
                // imwatermark moves only the peak entry; H.264 smooths such a lone spike in a chroma block away
                // and the bit is lost. We shift the whole 4x4 block (the DC of an aligned 4x4 chroma transform
                // block in 4:2:0, the part an encoder keeps best) by the smallest d that puts the peak on the
                // target residue. The order of the entries, so the peak the reader picks, is unchanged:
                // the reading rule is imwatermark's, only the mark survives encoding.
                let wanted = (0.25 + 0.5 * b) * scale
                let residue = abs(v).truncatingRemainder(dividingBy: scale)
                var d = wanted - residue
                if d > scale / 2 { d -= scale } else if d < -scale / 2 { d += scale }
                // Only move into [wanted - tolerance, wanted + tolerance]: less visible, still clear of 18.
                d = d > 0 ? max(0, d - tolerance) : min(0, d + tolerance)
                if v < 0 { d = -d }  // magnitudes: a negative peak moves the other way
                // Changing LL by d moves each of the four U pixels below it by d/2 (inverse orthonormal Haar);
                // U = .492 (B - Y) is moved by changing B and G with R fixed, as OpenCV's YUV2BGR does.
                let du = Float(d / 2)
                for y in (row0 * 2)..<((row0 + block) * 2) {
                    for x in (col0 * 2)..<((col0 + block) * 2) {
                        let i = (y * frame.width + x) * 3
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
