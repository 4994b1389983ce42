import WandMedia

/// The demo model's attribute detector (Tools/demo-model/eval/detect.py, same algorithm): reads the
/// background colour, the shape's colour, the shape and its motion from the frames alone. The
/// palettes are the prompt vocabulary of Tools/demo-model/dataset.py and must stay in step with it.
struct DemoModelDetector {
    struct Attributes: Equatable, CustomStringConvertible {
        var colour: String?, shape: String?, motion: String?, background: String?
        var description: String { "\(colour ?? "?") \(shape ?? "?") \(motion ?? "?") on \(background ?? "?")" }

        /// How many of the four attributes agree with `truth`.
        func matches(_ truth: Attributes) -> Int {
            [colour == truth.colour, shape == truth.shape, motion == truth.motion, background == truth.background]
                .filter { $0 }.count
        }
    }

    typealias RGB = (Double, Double, Double)
    static let colours: [(String, RGB)] = [
        ("red", (220, 40, 40)), ("green", (40, 190, 60)), ("blue", (50, 80, 230)),
        ("yellow", (240, 220, 40)), ("purple", (150, 60, 200)), ("white", (245, 245, 245)),
    ]
    static let backgrounds: [(String, RGB)] = [
        ("black", (15, 15, 15)), ("gray", (120, 120, 120)), ("blue", (30, 50, 120)),
        ("green", (30, 100, 50)), ("brown", (110, 70, 40)),
    ]
    /// The visible watermark sits right of and below these fractions of the frame.
    static let labelBox = (x: 0.55, y: 0.82)

    static func distance(_ a: RGB, _ b: RGB) -> Double {
        let (d0, d1, d2) = (a.0 - b.0, a.1 - b.1, a.2 - b.2)
        return (d0 * d0 + d1 * d1 + d2 * d2).squareRoot()
    }

    static func nearest(_ c: RGB, _ palette: [(String, RGB)]) -> (name: String, distance: Double) {
        palette.map { ($0.0, distance(c, $0.1)) }.min { $0.1 < $1.1 }!
    }

    static func median(_ values: [RGB]) -> RGB {
        func med(_ xs: [Double]) -> Double {
            let s = xs.sorted(), n = s.count
            return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
        }
        return (med(values.map(\.0)), med(values.map(\.1)), med(values.map(\.2)))
    }

    static func pixel(_ f: RGBFrame, _ x: Int, _ y: Int) -> RGB {
        let i = (y * f.width + x) * 3
        return (Double(f.pixels[i]), Double(f.pixels[i + 1]), Double(f.pixels[i + 2]))
    }

    /// One or two colours of the left edge over all frames (two for striped backgrounds).
    static func backgroundColours(_ frames: [RGBFrame]) -> [RGB] {
        var edge: [RGB] = []
        for f in frames { for y in 0..<f.height { for x in 0..<4 { edge.append(pixel(f, x, y)) } } }
        let first = median(edge)
        let far = edge.filter { distance($0, first) > 40 }
        return Double(far.count) > 0.15 * Double(edge.count) ? [first, median(far)] : [first]
    }

    static func detect(_ frames: [RGBFrame]) -> Attributes {
        let centres = backgroundColours(frames)
        var result = Attributes()
        result.background = centres.map { nearest($0, backgrounds) }.min { $0.distance < $1.distance }!.name
        let (w, h) = (frames[0].width, frames[0].height)
        let labelX = Int(Double(w) * labelBox.x), labelY = Int(Double(h) * labelBox.y)
        var masks: [[Bool]] = []
        var shapePixels: [RGB] = []
        for f in frames {
            var mask = [Bool](repeating: false, count: w * h)
            for y in 0..<h {
                for x in 0..<w where !(x >= labelX && y >= labelY) {
                    let c = pixel(f, x, y)
                    if centres.map({ distance(c, $0) }).min()! > 60 { mask[y * w + x] = true; shapePixels.append(c) }
                }
            }
            masks.append(mask)
        }
        let areas = masks.map { $0.filter { $0 }.count }
        guard let maxArea = areas.max(), maxArea >= 30 else { return result }
        result.colour = nearest(median(shapePixels), colours).name

        let t = areas.firstIndex(of: maxArea)!
        var (x0, x1, y0, y1) = (w, -1, h, -1)
        for y in 0..<h { for x in 0..<w where masks[t][y * w + x] { x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y) } }
        let fill = Double(maxArea) / Double((x1 - x0 + 1) * (y1 - y0 + 1))
        result.shape = fill > 0.88 ? "square" : fill > 0.64 ? "circle" : "triangle"

        func centre(_ i: Int) -> (Double, Double)? {
            var (sx, sy, n) = (0.0, 0.0, 0.0)
            for y in 0..<h { for x in 0..<w where masks[i][y * w + x] { sx += Double(x); sy += Double(y); n += 1 } }
            return n > 0 ? (sx / n, sy / n) : nil
        }
        func meanCentre(_ range: Range<Int>) -> (Double, Double) {
            let cs = range.compactMap(centre)
            return cs.isEmpty ? (.nan, .nan) : (cs.map(\.0).reduce(0, +) / Double(cs.count), cs.map(\.1).reduce(0, +) / Double(cs.count))
        }
        let k = max(1, frames.count / 5), n = frames.count
        let start = meanCentre(0..<k), end = meanCentre((n - k)..<n)
        let firstArea = Double(areas[0..<k].reduce(0, +)) / Double(k), lastArea = Double(areas[(n - k)..<n].reduce(0, +)) / Double(k)
        let growth = (lastArea + 1) / (firstArea + 1)
        let (dx, dy) = (end.0 - start.0, end.1 - start.1)
        if growth > 1.8 {
            result.motion = "grows"
        } else if growth < 0.55 {
            result.motion = "shrinks"
        } else if max(abs(dx), abs(dy)) > 15 {
            result.motion = abs(dx) > abs(dy) ? (dx > 0 ? "moves right" : "moves left") : (dy > 0 ? "moves down" : "moves up")
        }
        return result
    }
}
