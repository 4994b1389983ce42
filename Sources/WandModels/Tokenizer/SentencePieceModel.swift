#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The parts of a sentencepiece `ModelProto` (sentencepiece_model.proto) that encoding uses.
public struct SentencePieceModel: Sendable {
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public struct Piece: Sendable, Equatable {
        public var text: String
        public var score: Float
        public var type: PieceType
    }

    public var pieces: [Piece] = []
    /// TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char.
    public var modelType = 1
    public var byteFallback = false
    public var treatWhitespaceAsSuffix = false
    public var unkID = 0
    public var eosID = 2
    public var padID = -1
    public var bosID = 1
    // NormalizerSpec (proto defaults)
    public var normalizerName = ""
    public var precompiledCharsMap: [UInt8] = []
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    public var escapeWhitespaces = true

    public init() {}

    public init(path: String) throws(TokenizerError) {
        try self.init(bytes: try readWholeFile(path), path: path)
    }

    public init(bytes: [UInt8], path: String) throws(TokenizerError) {
        var reader = ProtobufReader(bytes[...], path: path)
        var sawPieces = false
        while let (number, field) = try reader.next() {
            guard case let .bytes(body) = field else { continue }
            switch number {
            case 1:
                pieces.append(try Self.parsePiece(body, path: path))
                sawPieces = true
            case 2: try parseTrainerSpec(body, path: path)
            case 3: try parseNormalizerSpec(body, path: path)
            default: continue
            }
        }
        guard sawPieces else { throw TokenizerError(path: path, "no pieces: not a sentencepiece model") }
        guard modelType == 1 else { throw TokenizerError(path: path, "model_type \(modelType) is not unigram (1); only unigram models are supported") }
        guard unkID >= 0, unkID < pieces.count, pieces[unkID].type == .unknown else {
            throw TokenizerError(path: path, "unk_id \(unkID) is not an UNKNOWN piece")
        }
    }

    private static func parsePiece(_ body: ArraySlice<UInt8>, path: String) throws(TokenizerError) -> Piece {
        var r = ProtobufReader(body, path: path)
        var piece = Piece(text: "", score: 0, type: .normal)
        while let (number, field) = try r.next() {
            switch (number, field) {
            case let (1, .bytes(b)):
                guard let s = String(validating: b, as: UTF8.self) else { throw TokenizerError(path: path, offset: r.pos, "piece is not UTF-8") }
                piece.text = s
            case let (2, .fixed32(bits)): piece.score = Float(bitPattern: bits)
            case let (3, .varint(v)):
                guard let t = PieceType(rawValue: Int(truncatingIfNeeded: v)) else { throw TokenizerError(path: path, offset: r.pos, "unknown piece type \(v)") }
                piece.type = t
            default: continue
            }
        }
        return piece
    }

    private mutating func parseTrainerSpec(_ body: ArraySlice<UInt8>, path: String) throws(TokenizerError) {
        var r = ProtobufReader(body, path: path)
        while let (number, field) = try r.next() {
            guard case let .varint(v) = field else { continue }
            let int32 = Int(Int32(truncatingIfNeeded: v))
            switch number {
            case 3: modelType = int32
            case 24: treatWhitespaceAsSuffix = v != 0
            case 35: byteFallback = v != 0
            case 40: unkID = int32
            case 41: bosID = int32
            case 42: eosID = int32
            case 43: padID = int32
            default: continue
            }
        }
    }

    private mutating func parseNormalizerSpec(_ body: ArraySlice<UInt8>, path: String) throws(TokenizerError) {
        var r = ProtobufReader(body, path: path)
        while let (number, field) = try r.next() {
            switch (number, field) {
            case let (1, .bytes(b)): normalizerName = String(decoding: b, as: UTF8.self)
            case let (2, .bytes(b)): precompiledCharsMap = Array(b)
            case let (3, .varint(v)): addDummyPrefix = v != 0
            case let (4, .varint(v)): removeExtraWhitespaces = v != 0
            case let (5, .varint(v)): escapeWhitespaces = v != 0
            default: continue
            }
        }
    }
}

func readWholeFile(_ path: String) throws(TokenizerError) -> [UInt8] {
    guard let f = fopen(path, "rb") else { throw TokenizerError(path: path, "cannot open (errno \(errno))") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&buffer, 1, buffer.count, f)
        if n > 0 { out.append(contentsOf: buffer[0..<n]) }
        if n < buffer.count {
            if ferror(f) != 0 { throw TokenizerError(path: path, "read error") }
            break
        }
    }
    return out
}
