#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A SentencePiece unigram tokenizer: the reference normalizer, Viterbi segmentation over the
/// normalized bytes exactly as sentencepiece's `unigram_model.cc` (EncodeOptimized) does it,
/// byte fallback for unknown pieces, and umT5's EOS / padding conventions.
public struct UnigramTokenizer: Sendable {
    public let pieces: [SentencePieceModel.Piece]
    public let normalizer: SentencePieceNormalizer
    public let unkID: Int
    public let eosID: Int
    public let padID: Int
    public let byteFallback: Bool
    /// Special tokens matched in the raw text before normalization (tokenizer.json `added_tokens`);
    /// sentencepiece itself does not do this, so it is empty for a `.model`.
    public let specialTokens: [(text: [UInt8], id: Int)]

    private let trie: PieceTrie
    private let specialFirstBytes: Set<UInt8>
    private let minScore: Float
    private let maxScore: Float
    private let byteIDs: [Int]

    static let unknownPenalty: Float = 10

    public init(model: SentencePieceModel, path: String, specialTokens: [(String, Int)] = []) throws(TokenizerError) {
        pieces = model.pieces
        normalizer = try SentencePieceNormalizer(precompiledCharsMap: model.precompiledCharsMap,
                                                 addDummyPrefix: model.addDummyPrefix,
                                                 removeExtraWhitespaces: model.removeExtraWhitespaces,
                                                 escapeWhitespaces: model.escapeWhitespaces,
                                                 treatWhitespaceAsSuffix: model.treatWhitespaceAsSuffix, path: path)
        unkID = model.unkID
        eosID = model.eosID
        padID = model.padID
        byteFallback = model.byteFallback
        self.specialTokens = specialTokens.map { (Array($0.0.utf8), $0.1) }.sorted { $0.text.count > $1.text.count }
        specialFirstBytes = Set(self.specialTokens.compactMap { $0.text.first })
        var trieEntries: [([UInt8], Int)] = []
        var minScore = Float.greatestFiniteMagnitude, maxScore = -Float.greatestFiniteMagnitude
        var byteIDs = [Int](repeating: -1, count: 256)
        for (id, p) in model.pieces.enumerated() {
            switch p.type {
            case .normal, .userDefined, .unused:
                trieEntries.append((Array(p.text.utf8), id))
                if p.type == .normal { minScore = min(minScore, p.score); maxScore = max(maxScore, p.score) }
            case .byte:
                // "<0xAB>"
                let hex = p.text.utf8.dropFirst(3).dropLast()
                if p.text.hasPrefix("<0x"), p.text.hasSuffix(">"), hex.count == 2, let v = UInt8(String(decoding: hex, as: UTF8.self), radix: 16) {
                    byteIDs[Int(v)] = id
                }
            default: break
            }
        }
        if model.byteFallback, byteIDs.contains(-1) {
            throw TokenizerError(path: path, "byte_fallback is set but not all 256 <0xXX> pieces exist")
        }
        self.trie = PieceTrie(trieEntries)
        self.minScore = minScore
        self.maxScore = maxScore
        self.byteIDs = byteIDs
    }

    /// Reads a sentencepiece `spiece.model`.
    public init(spieceModelPath path: String) throws(TokenizerError) {
        try self.init(model: try SentencePieceModel(path: path), path: path)
    }

    /// Ids of `text` without EOS (what `SentencePieceProcessor.encode` returns).
    public func encode(_ text: String) -> [Int] {
        if specialTokens.isEmpty { return encodeNormalized(normalizer.normalize(text)) }
        // Split on special tokens first (HF tokenizers' added-token pass), leftmost-longest.
        let bytes = Array(text.utf8)
        var ids: [Int] = []
        var segmentStart = 0
        var i = 0
        while i < bytes.count {
            if specialFirstBytes.contains(bytes[i]),
               let match = specialTokens.first(where: { $0.text.count <= bytes.count - i && bytes[i..<(i + $0.text.count)].elementsEqual($0.text) }) {
                if segmentStart < i { ids += encodeNormalized(normalizer.normalize(String(decoding: bytes[segmentStart..<i], as: UTF8.self))) }
                ids.append(match.id)
                i += match.text.count
                segmentStart = i
            } else {
                i += 1
            }
        }
        if segmentStart < bytes.count { ids += encodeNormalized(normalizer.normalize(String(decoding: bytes[segmentStart...], as: UTF8.self))) }
        return ids
    }

    /// Ids with EOS appended, as umT5's tokenizer (`add_special_tokens=True`) gives them.
    public func encodeWithEOS(_ text: String) -> [Int] { encode(text) + [eosID] }

    /// What Wan feeds the text encoder: ids truncated to `maxLength - 1` plus EOS, padded with the
    /// pad id to `maxLength`; `count` is the number of real tokens (the attention mask's ones).
    public func encodeForUMT5(_ text: String, maxLength: Int = 512) -> (ids: [Int], count: Int) {
        var ids = Array(encode(text).prefix(max(0, maxLength - 1)))
        ids.append(eosID)
        let count = ids.count
        ids += [Int](repeating: max(padID, 0), count: maxLength - count)
        return (ids, count)
    }

    func encodeNormalized(_ s: [UInt8]) -> [Int] {
        if s.isEmpty { return [] }
        let n = s.count
        // best[end] = (score, start, id) of the best path covering s[0..<end]; start -1 = unreached.
        var score = [Float](repeating: 0, count: n + 1)
        var start = [Int](repeating: -1, count: n + 1)
        var pieceID = [Int](repeating: -1, count: n + 1)
        let unkScore = minScore - Self.unknownPenalty
        var from = 0
        while from < n {
            let base = score[from]
            let charLength = min(max(validUTF8Length(s, from: from), 1), n - from)
            var hasSingleCharPiece = false
            trie.forEachPrefix(of: s, from: from) { id, length in
                let piece = pieces[id]
                if piece.type == .unused { return }
                let pieceScore = piece.type == .userDefined ? Float(length) * maxScore - 0.1 : piece.score
                let candidate = pieceScore + base
                let end = from + length
                if start[end] == -1 || candidate > score[end] {
                    score[end] = candidate
                    start[end] = from
                    pieceID[end] = id
                }
                if !hasSingleCharPiece && length == charLength { hasSingleCharPiece = true }
            }
            if !hasSingleCharPiece {
                let end = from + charLength
                let candidate = unkScore + base
                if start[end] == -1 || candidate > score[end] {
                    score[end] = candidate
                    start[end] = from
                    pieceID[end] = unkID
                }
            }
            from += charLength
        }
        var segments: [(Int, Int, Int)] = []
        var end = n
        while end > 0 {
            guard start[end] >= 0 else { break }
            segments.append((start[end], end, pieceID[end]))
            end = start[end]
        }
        var ids: [Int] = []
        ids.reserveCapacity(segments.count)
        var previousWasUnknown = false
        for (a, b, id) in segments.reversed() {
            if id == unkID && byteFallback {
                for byte in s[a..<b] { ids.append(byteIDs[Int(byte)]) }
            } else if id == unkID && previousWasUnknown {
                // sentencepiece merges a run of unknown pieces into one (sentencepiece_processor.cc).
            } else {
                ids.append(id)
            }
            previousWasUnknown = id == unkID
        }
        return ids
    }
}

/// A byte trie over piece texts, enumerating the pieces that start at a position, shortest first
/// (the order sentencepiece's double-array common-prefix search yields them in). Built once from
/// the sorted pieces into flat arrays (children of a node are contiguous and sorted), so the real
/// 256k-piece umT5 vocabulary costs a few tens of MB rather than a dictionary per node.
struct PieceTrie: Sendable {
    private var nodeID: [Int32] = []
    private var firstEdge: [Int32] = []
    private var edgeCount: [Int32] = []
    private var edgeByte: [UInt8] = []
    private var edgeTarget: [Int32] = []

    init(_ entries: [([UInt8], Int)]) {
        // All piece bytes in one pool; pieces sorted by bytes (memcmp), ties by id so that for
        // duplicate texts the lowest id wins (sentencepiece keeps the first).
        var pool: [UInt8] = []
        var start: [Int] = [], length: [Int] = [], ids: [Int] = []
        for (bytes, id) in entries {
            start.append(pool.count)
            length.append(bytes.count)
            ids.append(id)
            pool.append(contentsOf: bytes)
        }
        var order = Array(0..<entries.count)
        pool.withUnsafeBufferPointer { p in
            let base = p.baseAddress
            order.sort { a, b in
                let n = min(length[a], length[b])
                let c = n == 0 ? 0 : memcmp(base! + start[a], base! + start[b], n)
                if c != 0 { return c < 0 }
                if length[a] != length[b] { return length[a] < length[b] }
                return ids[a] < ids[b]
            }
            build(p, start, length, ids, order, order.startIndex..<order.endIndex, depth: 0)
        }
    }

    @discardableResult
    private mutating func build(_ pool: UnsafeBufferPointer<UInt8>, _ start: [Int], _ length: [Int], _ ids: [Int],
                                _ order: [Int], _ range: Range<Int>, depth: Int) -> Int32 {
        let node = Int32(nodeID.count)
        nodeID.append(-1)
        firstEdge.append(Int32(edgeByte.count))
        edgeCount.append(0)
        var lo = range.lowerBound
        while lo < range.upperBound && length[order[lo]] == depth {
            if nodeID[Int(node)] == -1 { nodeID[Int(node)] = Int32(ids[order[lo]]) }
            lo += 1
        }
        func byte(_ i: Int) -> UInt8 { pool[start[order[i]] + depth] }
        // First pass: one edge per distinct byte (the range is sorted, so equal bytes are adjacent).
        let first = edgeByte.count
        var i = lo
        while i < range.upperBound {
            let b = byte(i)
            edgeByte.append(b)
            edgeTarget.append(-1)
            while i < range.upperBound && byte(i) == b { i += 1 }
        }
        edgeCount[Int(node)] = Int32(edgeByte.count - first)
        // Second pass: build each child over its sub-range.
        var edge = first
        i = lo
        while i < range.upperBound {
            let b = byte(i)
            var j = i
            while j < range.upperBound && byte(j) == b { j += 1 }
            edgeTarget[edge] = build(pool, start, length, ids, order, i..<j, depth: depth + 1)
            edge += 1
            i = j
        }
        return node
    }

    func forEachPrefix(of s: [UInt8], from: Int, _ body: (_ id: Int, _ length: Int) -> Void) {
        guard !nodeID.isEmpty else { return }
        var node = 0
        var i = from
        while i < s.count {
            var lo = Int(firstEdge[node]), hi = lo + Int(edgeCount[node])
            let b = s[i]
            while lo < hi {
                let mid = (lo + hi) / 2
                if edgeByte[mid] < b { lo = mid + 1 } else { hi = mid }
            }
            guard lo < Int(firstEdge[node]) + Int(edgeCount[node]), edgeByte[lo] == b else { return }
            node = Int(edgeTarget[lo])
            i += 1
            if nodeID[node] >= 0 { body(Int(nodeID[node]), i - from) }
        }
    }
}
