import WandTensor

/// A pickle reader for PyTorch state dicts that never executes anything. It knows a fixed set of
/// globals (OrderedDict, the tensor rebuild functions and the typed storage classes) and builds
/// plain values for them; any other global, and opcodes that would instantiate arbitrary classes,
/// are refused with the global's name. Storages come from persistent ids (`BINPERSID`), as
/// torch.save writes them; the caller maps them to the archive's `data/` entries.
public enum PickleValue: @unchecked Sendable {
    // @unchecked: list/dict boxes are mutated only while one unpickler builds them.
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case callable(PickleCallable)
    case storage(PickleStorage)
    case tensor(PickleTensor)
}

public final class PickleList { public var items: [PickleValue] = [] }
public final class PickleDict {
    public var items: [(PickleValue, PickleValue)] = []
    public let ordered: Bool
    init(ordered: Bool) { self.ordered = ordered }
}

public enum PickleCallable: Sendable, Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case storageType(DType)
}

public struct PickleStorage: Sendable, Equatable {
    public let key: String
    public let dtype: DType
    public let location: String
    public let elementCount: Int
}

public struct PickleTensor: Sendable, Equatable {
    public let storage: PickleStorage
    public let storageOffset: Int
    public let shape: [Int]
    public let strides: [Int]
}

public struct RestrictedUnpickler {
    /// The only globals a state dict needs.
    public static func resolve(module: String, name: String) -> PickleCallable? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch", _): return storageDType(name).map { .storageType($0) }
        default: return nil
        }
    }

    static func storageDType(_ name: String) -> DType? {
        switch name {
        case "FloatStorage": return .f32
        case "DoubleStorage": return .f64
        case "HalfStorage": return .f16
        case "BFloat16Storage": return .bf16
        case "LongStorage": return .i64
        case "IntStorage": return .i32
        case "ShortStorage": return .i16
        case "CharStorage": return .i8
        case "ByteStorage": return .u8
        case "BoolStorage": return .bool
        case "Float8_e4m3fnStorage": return .fp8e4m3
        case "Float8_e5m2Storage": return .fp8e5m2
        default: return nil
        }
    }

    private let data: UnsafeRawBufferPointer
    private let path: String
    private var pos = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// Reads one pickle from `data` and returns its value.
    public static func load(_ data: UnsafeRawBufferPointer, path: String) throws(WeightError) -> PickleValue {
        var u = RestrictedUnpickler(data: data, path: path)
        return try u.run()
    }

    private init(data: UnsafeRawBufferPointer, path: String) {
        self.data = data
        self.path = path
    }

    private func fail(_ message: String, at offset: Int? = nil) -> WeightError {
        WeightError(path: path, .pickle(offset: offset ?? pos, message: message))
    }

    private mutating func byte() throws(WeightError) -> UInt8 {
        guard pos < data.count else { throw fail("unexpected end of pickle") }
        defer { pos += 1 }
        return data[pos]
    }

    private mutating func take(_ n: Int) throws(WeightError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= data.count - pos else { throw fail("length \(n) runs past the end of the pickle") }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: data[pos..<(pos + n)])
    }

    private mutating func uint(_ n: Int) throws(WeightError) -> UInt64 {
        let b = try take(n)
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(b[i]) << (8 * UInt64(i)) }
        return v
    }

    private mutating func length(_ n: Int) throws(WeightError) -> Int {
        let v = try uint(n)
        guard v <= UInt64(data.count - pos) else { throw fail("length \(v) runs past the end of the pickle") }
        return Int(v)
    }

    private mutating func line() throws(WeightError) -> String {
        var bytes: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0A { break }
            bytes.append(b)
            if bytes.count > 1024 { throw fail("text argument too long") }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw fail("text argument is not UTF-8") }
        return s
    }

    private mutating func utf8(_ n: Int) throws(WeightError) -> String {
        let start = pos
        let b = try take(n)
        guard let s = String(validating: b, as: UTF8.self) else { throw fail("string is not valid UTF-8", at: start) }
        return s
    }

    private mutating func pop() throws(WeightError) -> PickleValue {
        if let m = marks.last, stack.count <= m { throw fail("stack underflow (pop across a mark)") }
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        return v
    }

    private mutating func popToMark() throws(WeightError) -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw fail("no mark on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func top() throws(WeightError) -> PickleValue {
        if let m = marks.last, stack.count <= m { throw fail("stack underflow (top is a mark)") }
        guard let v = stack.last else { throw fail("stack underflow") }
        return v
    }

    private mutating func setItems(_ dictValue: PickleValue, _ items: [PickleValue]) throws(WeightError) {
        guard case let .dict(d) = dictValue else { throw fail("SETITEM(S) on a non-dict") }
        guard items.count % 2 == 0 else { throw fail("SETITEMS with an odd number of items") }
        var i = 0
        while i < items.count {
            try checkKey(items[i])
            d.items.append((items[i], items[i + 1]))
            i += 2
        }
    }

    private func checkKey(_ key: PickleValue) throws(WeightError) {
        switch key {
        case .string, .int, .bool, .none, .float, .bytes, .tuple: return
        default: throw fail("unhashable dict key")
        }
    }

    private mutating func memoPut(_ index: Int) throws(WeightError) {
        memo[index] = try top()
    }

    private mutating func memoGet(_ index: Int) throws(WeightError) {
        guard let v = memo[index] else { throw fail("memo index \(index) was never stored") }
        stack.append(v)
    }

    private mutating func run() throws(WeightError) -> PickleValue {
        while true {
            let opOffset = pos
            let op = try byte()
            switch op {
            case 0x80: // PROTO
                let proto = try byte()
                guard proto >= 2 && proto <= 5 else { throw fail("pickle protocol \(proto) not supported", at: opOffset) }
            case 0x95: _ = try uint(8) // FRAME: a length hint only
            case UInt8(ascii: "."): // STOP
                let v = try pop()
                return v
            case UInt8(ascii: "("): marks.append(stack.count)
            case UInt8(ascii: ")"): stack.append(.tuple([]))
            case UInt8(ascii: "]"): stack.append(.list(PickleList()))
            case UInt8(ascii: "}"): stack.append(.dict(PickleDict(ordered: false)))
            case UInt8(ascii: "t"): stack.append(.tuple(try popToMark()))
            case 0x85: let a = try pop(); stack.append(.tuple([a]))
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))
            case UInt8(ascii: "l"):
                let l = PickleList(); l.items = try popToMark(); stack.append(.list(l))
            case UInt8(ascii: "d"):
                let items = try popToMark()
                let d = PickleDict(ordered: false)
                try setItems(.dict(d), items)
                stack.append(.dict(d))
            case UInt8(ascii: "a"): // APPEND
                let v = try pop()
                guard case let .list(l) = try top() else { throw fail("APPEND to a non-list", at: opOffset) }
                l.items.append(v)
            case UInt8(ascii: "e"): // APPENDS
                let items = try popToMark()
                guard case let .list(l) = try top() else { throw fail("APPENDS to a non-list", at: opOffset) }
                l.items.append(contentsOf: items)
            case UInt8(ascii: "s"): // SETITEM
                let v = try pop(), k = try pop()
                try setItems(try top(), [k, v])
            case UInt8(ascii: "u"): // SETITEMS
                let items = try popToMark()
                try setItems(try top(), items)
            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case UInt8(ascii: "J"): stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))
            case UInt8(ascii: "K"): stack.append(.int(Int(try byte())))
            case UInt8(ascii: "M"): stack.append(.int(Int(try uint(2))))
            case 0x8A, 0x8B: // LONG1, LONG4
                let n = op == 0x8A ? Int(try byte()) : try length(4)
                guard n <= 8 else { throw fail("integer of \(n) bytes is too large", at: opOffset) }
                var v = n == 0 ? 0 : try uint(n)
                if n > 0 && n < 8 && v & (1 << (8 * UInt64(n) - 1)) != 0 { v |= ~((1 << (8 * UInt64(n))) - 1) }
                stack.append(.int(Int(Int64(bitPattern: v))))
            case UInt8(ascii: "G"): // BINFLOAT, big-endian
                let b = try take(8)
                var v: UInt64 = 0
                for i in 0..<8 { v = v << 8 | UInt64(b[i]) }
                stack.append(.float(Double(bitPattern: v)))
            case 0x8C: stack.append(.string(try utf8(Int(try byte()))))
            case UInt8(ascii: "X"): stack.append(.string(try utf8(try length(4))))
            case 0x8D: stack.append(.string(try utf8(try length(8))))
            case UInt8(ascii: "U"), UInt8(ascii: "T"): // SHORT_BINSTRING, BINSTRING: latin-1
                let n = op == UInt8(ascii: "U") ? Int(try byte()) : try length(4)
                let b = try take(n)
                stack.append(.string(String(b.map { Character(Unicode.Scalar($0)) })))
            case UInt8(ascii: "C"): stack.append(.bytes(Array(try take(Int(try byte())))))
            case UInt8(ascii: "B"): stack.append(.bytes(Array(try take(try length(4)))))
            case 0x8E: stack.append(.bytes(Array(try take(try length(8)))))
            case UInt8(ascii: "q"): try memoPut(Int(try byte()))
            case UInt8(ascii: "r"): try memoPut(Int(try uint(4)))
            case 0x94: try memoPut(memo.count)
            case UInt8(ascii: "h"): try memoGet(Int(try byte()))
            case UInt8(ascii: "j"): try memoGet(Int(try uint(4)))
            case UInt8(ascii: "p"), UInt8(ascii: "g"): // PUT, GET (text)
                let text = try line()
                guard let i = Int(text), i >= 0 else { throw fail("bad memo index \"\(text)\"", at: opOffset) }
                if op == UInt8(ascii: "p") { try memoPut(i) } else { try memoGet(i) }
            case UInt8(ascii: "0"): _ = try pop()
            case UInt8(ascii: "1"): _ = try popToMark()
            case UInt8(ascii: "2"): stack.append(try top())
            case UInt8(ascii: "c"): // GLOBAL
                let module = try line(), name = try line()
                stack.append(.callable(try resolveOrRefuse(module: module, name: name, at: opOffset)))
            case 0x93: // STACK_GLOBAL
                guard case let .string(name) = try pop(), case let .string(module) = try pop() else {
                    throw fail("STACK_GLOBAL needs two strings", at: opOffset)
                }
                stack.append(.callable(try resolveOrRefuse(module: module, name: name, at: opOffset)))
            case UInt8(ascii: "Q"): // BINPERSID
                stack.append(.storage(try persistentStorage(try pop(), at: opOffset)))
            case UInt8(ascii: "R"): // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try reduce(callable, args, at: opOffset))
            case UInt8(ascii: "b"): // BUILD: only OrderedDict's attribute state (`_metadata`) is accepted.
                let state = try pop()
                guard case .dict = try top() else { throw fail("BUILD on something other than a dict", at: opOffset) }
                switch state {
                case .dict, .none: break
                case let .tuple(parts) where parts.allSatisfy({ if case .dict = $0 { return true }; if case .none = $0 { return true }; return false }): break
                default: throw fail("BUILD with a non-dict state", at: opOffset)
                }
            default:
                // INST, OBJ, NEWOBJ(_EX), EXT*, PERSID (text), sets, byte arrays, buffers...
                throw WeightError(path: path, .forbiddenOpcode(opcode: op, offset: opOffset))
            }
        }
    }

    private func resolveOrRefuse(module: String, name: String, at offset: Int) throws(WeightError) -> PickleCallable {
        guard let c = RestrictedUnpickler.resolve(module: module, name: name) else {
            throw WeightError(path: path, .forbiddenGlobal(module: module, name: name, offset: offset))
        }
        return c
    }

    private func int(_ v: PickleValue) -> Int? { if case let .int(i) = v { return i }; return nil }

    private func ints(_ v: PickleValue) -> [Int]? {
        guard case let .tuple(items) = v else { return nil }
        var out: [Int] = []
        for i in items { guard let x = int(i) else { return nil }; out.append(x) }
        return out
    }

    private func persistentStorage(_ pid: PickleValue, at offset: Int) throws(WeightError) -> PickleStorage {
        guard case let .tuple(t) = pid, t.count == 5, case .string("storage") = t[0],
              case let .callable(.storageType(dtype)) = t[1], case let .string(key) = t[2],
              case let .string(location) = t[3], let numel = int(t[4]), numel >= 0 else {
            throw fail("persistent id is not ('storage', <torch storage type>, key, location, numel)", at: offset)
        }
        return PickleStorage(key: key, dtype: dtype, location: location, elementCount: numel)
    }

    private func reduce(_ callable: PickleValue, _ argsValue: PickleValue, at offset: Int) throws(WeightError) -> PickleValue {
        guard case let .callable(c) = callable else { throw fail("REDUCE on a value that is not an allowed callable", at: offset) }
        guard case let .tuple(args) = argsValue else { throw fail("REDUCE arguments are not a tuple", at: offset) }
        switch c {
        case .orderedDict:
            guard args.isEmpty else { throw fail("OrderedDict called with arguments", at: offset) }
            return .dict(PickleDict(ordered: true))
        case .rebuildTensorV2:
            guard args.count == 6 || args.count == 7, case let .storage(storage) = args[0],
                  let storageOffset = int(args[1]), storageOffset >= 0,
                  let shape = ints(args[2]), let strides = ints(args[3]), shape.count == strides.count,
                  shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
                throw fail("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, requires_grad, hooks[, metadata])", at: offset)
            }
            return .tensor(PickleTensor(storage: storage, storageOffset: storageOffset, shape: shape, strides: strides))
        case .rebuildParameter:
            guard args.count == 3, case .tensor = args[0] else {
                throw fail("_rebuild_parameter arguments are not (tensor, requires_grad, hooks)", at: offset)
            }
            return args[0]
        case .storageType:
            throw fail("REDUCE on a storage type (storages only come from persistent ids)", at: offset)
        }
    }
}
