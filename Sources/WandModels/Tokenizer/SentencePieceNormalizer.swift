/// sentencepiece's normalizer (normalizer.cc): longest-prefix rewriting through the precompiled
/// charsmap (a darts-clone double-array trie over UTF-8 bytes plus a pool of NUL-terminated
/// replacement strings; for the default `nmt_nfkc` rule set this is NFKC plus a few extra folds),
/// then the whitespace rules: drop leading whitespace, collapse runs, drop trailing whitespace,
/// add the dummy "▁" prefix and write spaces as "▁".
public struct SentencePieceNormalizer: Sendable {
    public static let spaceSymbol: [UInt8] = [0xE2, 0x96, 0x81] // "▁"

    private let trie: [UInt32]
    private let pool: [UInt8]
    public let addDummyPrefix: Bool
    public let removeExtraWhitespaces: Bool
    public let escapeWhitespaces: Bool
    public let treatWhitespaceAsSuffix: Bool

    public init(precompiledCharsMap blob: [UInt8], addDummyPrefix: Bool, removeExtraWhitespaces: Bool,
                escapeWhitespaces: Bool, treatWhitespaceAsSuffix: Bool = false, path: String) throws(TokenizerError) {
        self.addDummyPrefix = addDummyPrefix
        self.removeExtraWhitespaces = removeExtraWhitespaces
        self.escapeWhitespaces = escapeWhitespaces
        self.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix
        if blob.isEmpty {
            trie = []
            pool = []
            return
        }
        guard blob.count >= 4 else { throw TokenizerError(path: path, "precompiled charsmap shorter than 4 bytes") }
        let trieSize = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
        guard trieSize % 4 == 0, trieSize < blob.count - 4 else {
            throw TokenizerError(path: path, "precompiled charsmap trie size \(trieSize) does not fit the blob")
        }
        var units = [UInt32](repeating: 0, count: trieSize / 4)
        for i in 0..<units.count {
            let o = 4 + 4 * i
            units[i] = UInt32(blob[o]) | UInt32(blob[o + 1]) << 8 | UInt32(blob[o + 2]) << 16 | UInt32(blob[o + 3]) << 24
        }
        trie = units
        pool = Array(blob[(4 + trieSize)...])
    }

    /// Longest match of the charsmap trie at the start of `input[from...]`: (match length, pool offset).
    private func longestMatch(_ input: [UInt8], from: Int) -> (Int, Int)? {
        guard !trie.isEmpty else { return nil }
        // darts-clone unit layout: label in bits 0-7 (+ bit 31 for leaves), has_leaf bit 8,
        // offset in bits 10-31 scaled by bit 9.
        func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }
        var id = offset(trie[0])
        var best: (Int, Int)?
        var results = 0
        var i = from
        while i < input.count {
            let c = input[i]
            id ^= Int(c)
            guard id < trie.count else { break }
            let unit = trie[id]
            guard unit & ((1 << 31) | 0xFF) == UInt32(c) else { break }
            id ^= offset(unit)
            guard id < trie.count else { break }
            if (unit >> 8) & 1 == 1 {
                // sentencepiece keeps at most 32 results (kMaxTrieResultsSize) and takes the longest.
                if results < 32 { best = (i + 1 - from, Int(trie[id] & 0x7FFF_FFFF)) }
                results += 1
            }
            i += 1
        }
        return best
    }

    /// One normalization step: (replacement bytes, input bytes consumed).
    private func normalizePrefix(_ input: [UInt8], from: Int) -> ([UInt8], Int) {
        if let (length, value) = longestMatch(input, from: from), value < pool.count {
            var end = value
            while end < pool.count && pool[end] != 0 { end += 1 }
            return (Array(pool[value..<end]), length)
        }
        let n = validUTF8Length(input, from: from)
        if n == 0 { return ([0xEF, 0xBF, 0xBD], 1) } // malformed byte -> U+FFFD, one byte consumed
        return (Array(input[from..<(from + n)]), n)
    }

    public func normalize(_ text: String) -> [UInt8] {
        let input = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(input.count + 8)
        var pos = 0
        if removeExtraWhitespaces {
            while pos < input.count {
                let (s, n) = normalizePrefix(input, from: pos)
                if s != [0x20] { break }
                pos += n
            }
        }
        if pos >= input.count { return [] }
        let space: [UInt8] = escapeWhitespaces ? Self.spaceSymbol : [0x20]
        if !treatWhitespaceAsSuffix && addDummyPrefix { out += space }
        var previousWasSpace = removeExtraWhitespaces
        while pos < input.count {
            let (s, n) = normalizePrefix(input, from: pos)
            var start = 0
            if previousWasSpace { while start < s.count && s[start] == 0x20 { start += 1 } }
            if start < s.count {
                for b in s[start...] {
                    if escapeWhitespaces && b == 0x20 { out += Self.spaceSymbol } else { out.append(b) }
                }
                previousWasSpace = s.last == 0x20
            }
            pos += n
            if !removeExtraWhitespaces { previousWasSpace = false }
        }
        if removeExtraWhitespaces {
            while out.count >= space.count && Array(out.suffix(space.count)) == space { out.removeLast(space.count) }
        }
        if treatWhitespaceAsSuffix && addDummyPrefix { out += space }
        return out
    }
}

/// Length of the valid UTF-8 sequence starting at `from`, or 0 if it is malformed.
func validUTF8Length(_ b: [UInt8], from i: Int) -> Int {
    let c = b[i]
    func cont(_ k: Int) -> Bool { i + k < b.count && b[i + k] & 0xC0 == 0x80 }
    switch c {
    case 0x00...0x7F: return 1
    case 0xC2...0xDF: return cont(1) ? 2 : 0
    case 0xE0:
        return i + 1 < b.count && (0xA0...0xBF).contains(b[i + 1]) && cont(2) ? 3 : 0
    case 0xED:
        return i + 1 < b.count && (0x80...0x9F).contains(b[i + 1]) && cont(2) ? 3 : 0
    case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : 0
    case 0xF0:
        return i + 1 < b.count && (0x90...0xBF).contains(b[i + 1]) && cont(2) && cont(3) ? 4 : 0
    case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
    case 0xF4:
        return i + 1 < b.count && (0x80...0x8F).contains(b[i + 1]) && cont(2) && cont(3) ? 4 : 0
    default: return 0
    }
}
