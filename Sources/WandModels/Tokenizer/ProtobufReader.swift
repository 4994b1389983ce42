/// The few protobuf wire-format primitives needed to read a sentencepiece `ModelProto`.
struct ProtobufReader {
    enum Field {
        case varint(UInt64)
        case fixed32(UInt32)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
    }

    let data: ArraySlice<UInt8>
    var pos: Int
    let path: String

    init(_ data: ArraySlice<UInt8>, path: String) {
        self.data = data
        self.pos = data.startIndex
        self.path = path
    }

    var atEnd: Bool { pos >= data.endIndex }

    private func fail(_ m: String) -> TokenizerError { TokenizerError(path: path, offset: pos, "protobuf: \(m)") }

    mutating func varint() throws(TokenizerError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < data.endIndex else { throw fail("truncated varint") }
            let b = data[pos]
            pos += 1
            guard shift < 64 else { throw fail("varint longer than 10 bytes") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Next (field number, value), or nil at the end of the message.
    mutating func next() throws(TokenizerError) -> (Int, Field)? {
        if atEnd { return nil }
        let key = try varint()
        let number = Int(key >> 3)
        guard number > 0, number < 1 << 29 else { throw fail("invalid field number") }
        switch key & 7 {
        case 0: return (number, .varint(try varint()))
        case 1:
            guard data.endIndex - pos >= 8 else { throw fail("truncated fixed64") }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(data[pos + i]) << (8 * UInt64(i)) }
            pos += 8
            return (number, .fixed64(v))
        case 2:
            let n = try varint()
            guard n <= UInt64(data.endIndex - pos) else { throw fail("length \(n) runs past the end") }
            let slice = data[pos..<(pos + Int(n))]
            pos += Int(n)
            return (number, .bytes(slice))
        case 5:
            guard data.endIndex - pos >= 4 else { throw fail("truncated fixed32") }
            var v: UInt32 = 0
            for i in 0..<4 { v |= UInt32(data[pos + i]) << (8 * UInt32(i)) }
            pos += 4
            return (number, .fixed32(v))
        default:
            throw fail("unsupported wire type \(key & 7)")
        }
    }
}
