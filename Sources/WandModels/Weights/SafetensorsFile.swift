import WandTensor

/// One tensor entry of a safetensors header, validated against the data area.
public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range relative to the start of the data area (after the 8-byte length and the header).
    public let begin: Int
    public let end: Int
}

/// The validated header of a safetensors file.
public struct SafetensorsHeader: Sendable {
    /// Same cap as the reference implementation (safetensors' MAX_HEADER_SIZE).
    public static let maxHeaderLength: UInt64 = 100_000_000

    public let entries: [SafetensorsEntry]
    public let metadata: [(String, String)]
    public let headerLength: Int

    /// Validates `file` (the whole file's bytes; only the prefix up to the header end is read).
    /// The checks follow the reference implementation: header inside the file, known dtypes,
    /// offsets inside the data area, size == dtype size x shape product, tensors packed without
    /// overlaps or gaps, and no bytes after the last tensor.
    public static func parse(file: UnsafeRawBufferPointer, path: String) throws(WeightError) -> SafetensorsHeader {
        let fileSize = file.count
        guard fileSize >= 8 else { throw WeightError(path: path, .fileTooSmall(size: fileSize)) }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(file[i]) << (8 * UInt64(i)) }
        guard length >= 2, length <= maxHeaderLength, length <= UInt64(fileSize - 8) else {
            throw WeightError(path: path, .headerLengthOutOfRange(length: length, fileSize: fileSize))
        }
        let headerLength = Int(length)
        let dataSize = fileSize - 8 - headerLength
        let json: JSONValue
        do {
            json = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: file[8..<(8 + headerLength)]))
        } catch {
            throw WeightError(path: path, .malformedHeader(error))
        }
        guard case let .object(members) = json else {
            throw WeightError(path: path, .invalidHeader("the header is not a JSON object"))
        }
        var entries: [SafetensorsEntry] = []
        var metadata: [(String, String)] = []
        entries.reserveCapacity(members.count)
        for (name, value) in members {
            if name == "__metadata__" {
                guard case let .object(pairs) = value else {
                    throw WeightError(path: path, .invalidHeader("__metadata__ is not an object"))
                }
                for (k, v) in pairs {
                    guard case let .string(s) = v else {
                        throw WeightError(path: path, .invalidHeader("__metadata__ value of \"\(k)\" is not a string"))
                    }
                    metadata.append((k, s))
                }
                continue
            }
            entries.append(try parseEntry(name: name, value: value, dataSize: dataSize, path: path))
        }
        // Packed, non-overlapping ranges in offset order; empty tensors may sit anywhere.
        let order = entries.indices.sorted {
            (entries[$0].begin, entries[$0].end) < (entries[$1].begin, entries[$1].end)
        }
        var cursor = 0
        var lastName: String?
        for i in order {
            let e = entries[i]
            if e.begin == e.end { continue }
            if e.begin < cursor {
                throw WeightError(path: path, tensor: e.name, .overlappingTensors(other: lastName ?? "?"))
            }
            if e.begin > cursor {
                throw WeightError(path: path, tensor: e.name, .gapBetweenTensors(at: e.begin))
            }
            cursor = e.end
            lastName = e.name
        }
        if cursor != dataSize {
            throw WeightError(path: path, .trailingBytes(dataEnd: cursor, dataSize: dataSize))
        }
        return SafetensorsHeader(entries: entries, metadata: metadata, headerLength: headerLength)
    }

    private static func parseEntry(name: String, value: JSONValue, dataSize: Int, path: String) throws(WeightError) -> SafetensorsEntry {
        guard case let .object(fields) = value else {
            throw WeightError(path: path, tensor: name, .invalidHeader("entry is not an object"))
        }
        var dtypeName: String?
        var shapeValues: [JSONValue]?
        var offsetValues: [JSONValue]?
        for (k, v) in fields {
            switch k {
            case "dtype": dtypeName = v.stringValue
            case "shape": shapeValues = v.arrayValue
            case "data_offsets": offsetValues = v.arrayValue
            default: throw WeightError(path: path, tensor: name, .invalidHeader("unexpected field \"\(k)\""))
            }
        }
        guard let dtypeName else { throw WeightError(path: path, tensor: name, .invalidHeader("missing or non-string dtype")) }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            throw WeightError(path: path, tensor: name, .unknownDType(dtypeName))
        }
        guard let shapeValues else { throw WeightError(path: path, tensor: name, .invalidHeader("missing or non-array shape")) }
        var shape: [Int] = []
        var raw: [Int64] = []
        var elements = 1
        var overflow = false
        for v in shapeValues {
            guard let d = v.intValue else {
                throw WeightError(path: path, tensor: name, .invalidHeader("shape holds a non-integer"))
            }
            raw.append(d)
            if d < 0 { overflow = true; continue }
            shape.append(Int(d))
            let (p, o) = elements.multipliedReportingOverflow(by: Int(d))
            if o { overflow = true } else { elements = p }
        }
        if overflow { throw WeightError(path: path, tensor: name, .invalidShape(raw)) }
        guard let offsetValues, offsetValues.count == 2,
              let begin = offsetValues[0].intValue, let end = offsetValues[1].intValue else {
            throw WeightError(path: path, tensor: name, .invalidHeader("data_offsets must be two integers"))
        }
        guard begin >= 0, end >= begin, end <= Int64(dataSize) else {
            throw WeightError(path: path, tensor: name, .offsetsOutOfRange(begin: begin, end: end, dataSize: dataSize))
        }
        let (expected, o) = elements.multipliedReportingOverflow(by: dtype.size)
        let actual = Int(end - begin)
        guard !o, expected == actual else {
            throw WeightError(path: path, tensor: name, .sizeMismatch(expectedBytes: o ? Int.max : expected, actualBytes: actual))
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, begin: Int(begin), end: Int(end))
    }
}

/// A memory-mapped `.safetensors` file. Opening parses and validates the header only.
public final class SafetensorsFile: Sendable {
    public let path: String
    public let file: MappedFile
    public let header: SafetensorsHeader
    public let weights: WeightSet

    public init(path: String) throws(WeightError) {
        self.path = path
        file = try MappedFile(path: path)
        header = try SafetensorsHeader.parse(file: file.all, path: path)
        let dataStart = 8 + header.headerLength
        var tensors: [WeightTensor] = []
        tensors.reserveCapacity(header.entries.count)
        for e in header.entries {
            tensors.append(WeightTensor(name: e.name, dtype: e.dtype, shape: e.shape,
                                        bytes: file.bytes(offset: dataStart + e.begin, count: e.end - e.begin),
                                        file: file))
        }
        weights = try WeightSet(tensors)
    }

    public var metadata: [(String, String)] { header.metadata }

    public func tensor(_ name: String) throws(WeightError) -> WeightTensor {
        guard let t = weights[name] else { throw WeightError(path: path, tensor: name, .tensorNotFound) }
        return t
    }
}
