extension UnigramTokenizer {
    /// Reads a Hugging Face `tokenizer.json` holding a Unigram model (what T5TokenizerFast saves):
    /// vocab with scores, the `Precompiled` normalizer's charsmap, Metaspace / WhitespaceSplit
    /// pre-tokenizers (mapped onto sentencepiece's dummy-prefix and whitespace-collapsing rules)
    /// and special `added_tokens`, which are matched in the raw text first, as tokenizers does.
    public init(tokenizerJSONPath path: String) throws(TokenizerError) {
        let json: JSONValue
        do { json = try JSONParser.parse(try readWholeFile(path)) } catch let e as JSONError {
            throw TokenizerError(path: path, offset: e.byteOffset, e.message)
        } catch let e as TokenizerError { throw e } catch { throw TokenizerError(path: path, "\(error)") }
        guard let modelJSON = json["model"], modelJSON["type"]?.stringValue == "Unigram" else {
            throw TokenizerError(path: path, "model.type is not \"Unigram\"")
        }
        guard let vocab = modelJSON["vocab"]?.arrayValue else { throw TokenizerError(path: path, "model.vocab missing") }
        var model = SentencePieceModel()
        model.byteFallback = modelJSON["byte_fallback"]?.boolValue ?? false
        guard let unk = modelJSON["unk_id"]?.intValue, unk >= 0, Int(unk) < vocab.count else {
            throw TokenizerError(path: path, "model.unk_id missing or out of range")
        }
        model.unkID = Int(unk)
        var special: [(String, Int)] = []
        var specialIDs = Set<Int>()
        for token in json["added_tokens"]?.arrayValue ?? [] {
            guard let content = token["content"]?.stringValue, let id = token["id"]?.intValue else { continue }
            if token["special"]?.boolValue == true {
                special.append((content, Int(id)))
                specialIDs.insert(Int(id))
            }
        }
        for (id, entry) in vocab.enumerated() {
            guard let pair = entry.arrayValue, pair.count == 2, let text = pair[0].stringValue, let score = pair[1].doubleValue else {
                throw TokenizerError(path: path, "model.vocab[\(id)] is not [piece, score]")
            }
            var type = SentencePieceModel.PieceType.normal
            if id == model.unkID { type = .unknown }
            else if specialIDs.contains(id) { type = .control }
            else if model.byteFallback, text.hasPrefix("<0x"), text.hasSuffix(">"), text.utf8.count == 6 { type = .byte }
            model.pieces.append(.init(text: text, score: Float(score), type: type))
        }
        for (content, id) in special where content == "</s>" { model.eosID = id }
        for (content, id) in special where content == "<pad>" { model.padID = id }

        model.precompiledCharsMap = []
        var normalizers: [JSONValue] = []
        if let n = json["normalizer"], n != .null {
            normalizers = n["type"]?.stringValue == "Sequence" ? (n["normalizers"]?.arrayValue ?? []) : [n]
        }
        for n in normalizers {
            switch n["type"]?.stringValue {
            case "Precompiled":
                guard let b64 = n["precompiled_charsmap"]?.stringValue, let blob = base64Decode(b64) else {
                    throw TokenizerError(path: path, "Precompiled normalizer without a valid base64 charsmap")
                }
                model.precompiledCharsMap = blob
            case let other:
                throw TokenizerError(path: path, "normalizer \(other ?? "?") is not supported (only Precompiled)")
            }
        }
        var preTokenizers: [JSONValue] = []
        if let p = json["pre_tokenizer"], p != .null {
            preTokenizers = p["type"]?.stringValue == "Sequence" ? (p["pretokenizers"]?.arrayValue ?? []) : [p]
        }
        model.addDummyPrefix = false
        model.removeExtraWhitespaces = false
        model.escapeWhitespaces = false
        for p in preTokenizers {
            switch p["type"]?.stringValue {
            case "WhitespaceSplit":
                model.removeExtraWhitespaces = true
            case "Metaspace":
                guard p["replacement"]?.stringValue ?? "▁" == "▁" else { throw TokenizerError(path: path, "Metaspace replacement other than ▁") }
                model.escapeWhitespaces = true
                let scheme = p["prepend_scheme"]?.stringValue ?? ((p["add_prefix_space"]?.boolValue ?? true) ? "always" : "never")
                guard scheme == "always" || scheme == "never" else {
                    throw TokenizerError(path: path, "Metaspace prepend_scheme \"\(scheme)\" is not supported")
                }
                model.addDummyPrefix = scheme == "always"
                // split: true cuts at every ▁; unigram pieces never span ▁ inside (sentencepiece's
                // split_by_whitespace), so the segmentation is the same as over the whole string.
            case let other:
                throw TokenizerError(path: path, "pre_tokenizer \(other ?? "?") is not supported")
            }
        }
        try self.init(model: model, path: path, specialTokens: special)
    }
}

func base64Decode(_ s: String) -> [UInt8]? {
    var table = [Int](repeating: -1, count: 256)
    for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(c)] = i }
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count * 3 / 4)
    var acc = 0, bits = 0, padding = 0
    for c in s.utf8 {
        if c == UInt8(ascii: "=") { padding += 1; continue }
        guard padding == 0, table[Int(c)] >= 0 else { return nil }
        acc = (acc << 6 | table[Int(c)]) & 0xFFFFFF
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8((acc >> bits) & 0xFF))
        }
    }
    return padding <= 2 ? out : nil
}
