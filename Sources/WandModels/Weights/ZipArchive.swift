/// A read-only view of a zip archive's central directory (with ZIP64), enough for PyTorch's
/// `torch.save` files: entries are found by name and their data is located without copying.
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    public let method: UInt16
    public let compressedSize: Int
    public let uncompressedSize: Int
    /// Offset of the entry's data in the archive (after the local header).
    public let dataOffset: Int
}

public enum ZipArchive {
    public static func entries(of archive: UnsafeRawBufferPointer, path: String) throws(WeightError) -> [ZipEntry] {
        func fail(_ m: String) -> WeightError { WeightError(path: path, .zip(m)) }
        let size = archive.count
        func u16(_ o: Int) throws(WeightError) -> Int {
            guard o >= 0, o <= size - 2 else { throw fail("record at \(o) runs past the end") }
            return Int(archive[o]) | Int(archive[o + 1]) << 8
        }
        func u32(_ o: Int) throws(WeightError) -> Int {
            guard o >= 0, o <= size - 4 else { throw fail("record at \(o) runs past the end") }
            return (0..<4).reduce(0) { $0 | Int(archive[o + $1]) << (8 * $1) }
        }
        func u64(_ o: Int) throws(WeightError) -> Int {
            guard o >= 0, o <= size - 8 else { throw fail("record at \(o) runs past the end") }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(archive[o + i]) << (8 * UInt64(i)) }
            guard v <= UInt64(Int.max) else { throw fail("64-bit field at \(o) too large") }
            return Int(v)
        }
        guard size >= 22 else { throw fail("too small to be a zip archive (\(size) bytes)") }
        // End of central directory: the last signature within the final 64 KiB + 22 bytes.
        var eocd = -1
        var p = size - 22
        let lowest = max(0, size - 22 - 65_535)
        while p >= lowest {
            if archive[p] == 0x50, archive[p + 1] == 0x4B, archive[p + 2] == 0x05, archive[p + 3] == 0x06 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record") }
        var count = try u16(eocd + 10)
        var cdSize = try u32(eocd + 12)
        var cdOffset = try u32(eocd + 16)
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            let locator = eocd - 20
            guard locator >= 0, try u32(locator) == 0x0706_4B50 else { throw fail("ZIP64 locator missing") }
            let record = try u64(locator + 8)
            guard try u32(record) == 0x0606_4B50 else { throw fail("ZIP64 end record missing") }
            count = try u64(record + 32)
            cdSize = try u64(record + 40)
            cdOffset = try u64(record + 48)
        }
        guard cdOffset <= size, cdSize <= size - cdOffset else { throw fail("central directory outside the archive") }
        guard count <= cdSize / 46 + 1 else { throw fail("entry count \(count) does not fit the central directory") }
        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        var cursor = cdOffset
        for _ in 0..<count {
            guard try u32(cursor) == 0x0201_4B50 else { throw fail("bad central directory signature at \(cursor)") }
            let flags = try u16(cursor + 8)
            let method = try u16(cursor + 10)
            var csize = try u32(cursor + 20)
            var usize = try u32(cursor + 24)
            let nameLength = try u16(cursor + 28)
            let extraLength = try u16(cursor + 30)
            let commentLength = try u16(cursor + 32)
            var localOffset = try u32(cursor + 42)
            let nameStart = cursor + 46
            guard nameStart + nameLength + extraLength <= size else { throw fail("entry name runs past the end") }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: archive[nameStart..<(nameStart + nameLength)]), as: UTF8.self)
            // ZIP64 extra field: only the fields saturated in the fixed header are present, in this order.
            var e = nameStart + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e), len = try u16(e + 2)
                guard e + 4 + len <= extraEnd else { throw fail("extra field of \"\(name)\" runs past its end") }
                if id == 0x0001 {
                    var f = e + 4
                    if usize == 0xFFFF_FFFF, f + 8 <= e + 4 + len { usize = try u64(f); f += 8 }
                    if csize == 0xFFFF_FFFF, f + 8 <= e + 4 + len { csize = try u64(f); f += 8 }
                    if localOffset == 0xFFFF_FFFF, f + 8 <= e + 4 + len { localOffset = try u64(f); f += 8 }
                }
                e += 4 + len
            }
            if flags & 1 != 0 { throw fail("entry \"\(name)\" is encrypted") }
            guard try u32(localOffset) == 0x0403_4B50 else { throw fail("bad local header for \"\(name)\"") }
            let dataOffset = localOffset + 30 + (try u16(localOffset + 26)) + (try u16(localOffset + 28))
            guard dataOffset <= size, csize <= size - dataOffset else { throw fail("data of \"\(name)\" runs past the end") }
            entries.append(ZipEntry(name: name, method: UInt16(method), compressedSize: csize,
                                    uncompressedSize: usize, dataOffset: dataOffset))
            cursor = nameStart + nameLength + extraLength + commentLength
        }
        return entries
    }
}
