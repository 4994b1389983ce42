import CAV
import Foundation

/// Decodes PNG, JPEG and WebP (anything libavformat opens as a picture) to RGB, upright.
public enum ImageDecoder {
    public static func decode(path: String) throws -> RGBFrame {
        let decoder = try StreamDecoder(path: path, type: AVMEDIA_TYPE_VIDEO)
        var result: RGBFrame?
        var orientation = 1
        try decoder.forEachFrame { frame in
            result = try PictureConverter.rgb(from: frame, path: path)
            if let entry = av_dict_get(frame.pointee.metadata, "Orientation", nil, 0),
               let value = Int(String(cString: entry.pointee.value)) {
                orientation = value
            }
            return false
        }
        guard let image = result else { throw MediaError.corrupt(path: path, reason: "no picture decoded") }
        if orientation == 1 { orientation = exifOrientation(path: path) ?? 1 }
        return Orientation.apply(exif: orientation, to: image)
    }

    /// Reads the EXIF Orientation tag of a JPEG's APP1 segment (libavcodec does not always export it).
    static func exifOrientation(path: String) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let data = [UInt8](handle.readData(ofLength: 128 * 1024))
        guard data.count > 4, data[0] == 0xFF, data[1] == 0xD8 else { return nil }
        var p = 2
        while p + 4 <= data.count, data[p] == 0xFF {
            let marker = data[p + 1]
            let length = Int(data[p + 2]) << 8 | Int(data[p + 3])
            if marker == 0xDA { break }
            if marker == 0xE1, p + 10 < data.count, Array(data[(p + 4)..<(p + 10)]) == [0x45, 0x78, 0x69, 0x66, 0, 0] {
                return parseTIFFOrientation(Array(data[(p + 10)..<min(data.count, p + 2 + length)]))
            }
            p += 2 + length
        }
        return nil
    }

    static func parseTIFFOrientation(_ t: [UInt8]) -> Int? {
        guard t.count >= 8 else { return nil }
        let little = t[0] == 0x49
        func u16(_ o: Int) -> Int? {
            guard o + 2 <= t.count else { return nil }
            return little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])
        }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for i in 0..<count {
            let entry = ifd + 2 + i * 12
            if u16(entry) == 0x0112 { return u16(entry + 8) }
        }
        return nil
    }
}

/// EXIF orientation 1-8 to an upright picture.
enum Orientation {
    static func apply(exif: Int, to image: RGBFrame) -> RGBFrame {
        guard (2...8).contains(exif) else { return image }
        let w = image.width, h = image.height
        let swaps = exif >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        for y in 0..<oh {
            for x in 0..<ow {
                // (sx, sy): where the output pixel comes from in the stored picture.
                let (sx, sy): (Int, Int)
                switch exif {
                case 2: (sx, sy) = (w - 1 - x, y)
                case 3: (sx, sy) = (w - 1 - x, h - 1 - y)
                case 4: (sx, sy) = (x, h - 1 - y)
                case 5: (sx, sy) = (y, x)
                case 6: (sx, sy) = (y, h - 1 - x)
                case 7: (sx, sy) = (w - 1 - y, h - 1 - x)
                default: (sx, sy) = (w - 1 - y, x)  // 8
                }
                let s = (sy * w + sx) * 3, d = (y * ow + x) * 3
                out[d] = image.pixels[s]; out[d + 1] = image.pixels[s + 1]; out[d + 2] = image.pixels[s + 2]
            }
        }
        return RGBFrame(width: ow, height: oh, pixels: out)
    }
}
