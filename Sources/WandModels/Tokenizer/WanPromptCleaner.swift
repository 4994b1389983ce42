/// Wan's prompt cleaning before umT5 tokenization (`clean='whitespace'` in
/// wan/modules/tokenizers.py): `ftfy.fix_text`, `html.unescape` twice, strip, collapse every `\s+`
/// run to one space, strip.
///
/// `html.unescape` is Python's algorithm with Python's own tables. Of `ftfy.fix_text` (6.x defaults)
/// everything is done except `fix_encoding` (mojibake detection and re-decoding, e.g. "cafÃ©" ->
/// "café"), which needs ftfy's statistical badness heuristic; text without mojibake is unaffected.
/// Done: per-line segments, HTML unescaping with ftfy's table (off once a line has "<"),
/// C1 controls via sloppy windows-1252, Latin ligatures, character width, quote uncurling,
/// line breaks, terminal escapes, control characters, NFC, repeated to a fixed point.
public enum WanPromptCleaner {
    public static func clean(_ text: String) -> String {
        var s = ftfyFixText(text)
        s = htmlUnescape(htmlUnescape(s))
        s = strip(s, isspace)
        var out = String.UnicodeScalarView()
        var inRun = false
        for u in s.unicodeScalars {
            if regexSpace(u) {
                if !inRun { out.append(" ") }
                inRun = true
            } else {
                out.append(u)
                inRun = false
            }
        }
        return strip(String(out), isspace)
    }

    // MARK: whitespace, as Python's `str.isspace` (strip) and the `regex` module's `\s`

    static func regexSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace }
    static func isspace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace || (0x1C...0x1F).contains(u.value) }

    static func strip(_ s: String, _ space: (Unicode.Scalar) -> Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        guard let first = scalars.firstIndex(where: { !space($0) }), let last = scalars.lastIndex(where: { !space($0) }) else { return "" }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars[first...last])
        return String(v)
    }

    // MARK: tables

    private static func parse(_ table: String, hexKeys: Bool) -> [String: [Unicode.Scalar]] {
        var out: [String: [Unicode.Scalar]] = [:]
        for line in table.split(separator: "\n") {
            let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            let value = parts[1].split(separator: ",").compactMap { UInt32($0, radix: 16).flatMap(Unicode.Scalar.init) }
            out[String(parts[0])] = value
        }
        return out
    }

    private static func parseScalarMap(_ table: String) -> [UInt32: [Unicode.Scalar]] {
        var out: [UInt32: [Unicode.Scalar]] = [:]
        for (k, v) in parse(table, hexKeys: true) { if let key = UInt32(k, radix: 16) { out[key] = v } }
        return out
    }

    static let html5 = parse(PromptCleanerTables.html5Entities, hexKeys: false)
    static let ftfyEntities = parse(PromptCleanerTables.ftfyEntities, hexKeys: false)
    static let invalidCharrefs = parseScalarMap(PromptCleanerTables.invalidCharrefs)
    static let invalidCodepoints = Set(parseScalarMap(PromptCleanerTables.invalidCodepoints).keys)
    static let controlChars = parseScalarMap(PromptCleanerTables.ftfyControlChars)
    static let widthMap = parseScalarMap(PromptCleanerTables.ftfyWidthMap)
    static let ligatures = parseScalarMap(PromptCleanerTables.ftfyLigatures)
    static let sloppy1252 = parseScalarMap(PromptCleanerTables.sloppyWindows1252)

    // MARK: Python's html.unescape

    static func htmlUnescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        let u = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
        func isHex(_ c: Unicode.Scalar) -> Bool { isDigit(c) || ("a"..."f").contains(c) || ("A"..."F").contains(c) }
        while i < u.count {
            guard u[i] == "&", i + 1 < u.count else { out.append(u[i]); i += 1; continue }
            // Pattern: &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
            var j = i + 1
            if u[j] == "#" {
                var k = j + 1
                var hex = false
                if k < u.count, u[k] == "x" || u[k] == "X" { hex = true; k += 1 }
                let digitsStart = k
                while k < u.count, hex ? isHex(u[k]) : isDigit(u[k]) { k += 1 }
                guard k > digitsStart else { out.append(u[i]); i += 1; continue }
                var num: UInt64 = 0
                for c in u[digitsStart..<k] {
                    let d = UInt64(hex ? Int(String(c), radix: 16)! : Int(String(c))!)
                    num = min(num * (hex ? 16 : 10) + d, 0x1_0000_0000) // saturate: anything > 0x10FFFF is U+FFFD
                }
                if k < u.count, u[k] == ";" { k += 1 }
                out.append(contentsOf: numericCharref(num))
                i = k
                continue
            }
            while j < u.count, j - (i + 1) < 32, !["\t", "\n", "\u{0C}", " ", "<", "&", "#", ";"].contains(u[j]) { j += 1 }
            guard j > i + 1 else { out.append(u[i]); i += 1; continue }
            var name = String(String.UnicodeScalarView(u[(i + 1)..<j]))
            var end = j
            if j < u.count, u[j] == ";" { name += ";"; end = j + 1 }
            if let v = html5[name] {
                out.append(contentsOf: v)
            } else {
                // Longest prefix that is an entity (Python: for x in range(len(s)-1, 1, -1)).
                let chars = Array(name.unicodeScalars)
                var replaced = false
                var x = chars.count - 1
                while x > 1 {
                    let prefix = String(String.UnicodeScalarView(chars[0..<x]))
                    if let v = html5[prefix] {
                        out.append(contentsOf: v)
                        out.append(contentsOf: chars[x...])
                        replaced = true
                        break
                    }
                    x -= 1
                }
                if !replaced { out.append("&"); out.append(contentsOf: chars) }
            }
            i = end
        }
        return String(out)
    }

    private static func numericCharref(_ num: UInt64) -> [Unicode.Scalar] {
        if num <= 0xFFFF_FFFF, let v = invalidCharrefs[UInt32(num)] { return v }
        if (0xD800...0xDFFF).contains(num) || num > 0x10FFFF { return ["\u{FFFD}"] }
        if invalidCodepoints.contains(UInt32(num)) { return [] }
        return [Unicode.Scalar(UInt32(num))!]
    }

    // MARK: ftfy.fix_text (without fix_encoding)

    static func ftfyFixText(_ text: String) -> String {
        var unescape = true
        var out = ""
        var segment = String.UnicodeScalarView()
        func flush() {
            let s = String(segment)
            if s.contains("<") { unescape = false }
            out += ftfySegment(s, unescape: unescape)
            segment = String.UnicodeScalarView()
        }
        for u in text.unicodeScalars {
            segment.append(u)
            if u == "\n" { flush() }
        }
        if !segment.isEmpty { flush() }
        return out
    }

    private static func translate(_ s: String, _ map: [UInt32: [Unicode.Scalar]]) -> String {
        var v = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            if let r = map[u.value] { v.append(contentsOf: r) } else { v.append(u) }
        }
        return String(v)
    }

    static func ftfySegment(_ text: String, unescape: Bool) -> String {
        var s = text
        while true {
            let original = s
            if unescape { s = ftfyUnescapeHTML(s) }
            s = translate(s, sloppy1252) // fix_c1_controls: [\x80-\x9f] via sloppy-windows-1252
            s = translate(s, ligatures)
            s = translate(s, widthMap)
            s = uncurlQuotes(s)
            s = fixLineBreaks(s)
            s = removeTerminalEscapes(s)
            s = translate(s, controlChars)
            s = String(decoding: s._nfcCodeUnits, as: UTF8.self)
            // Compare scalars, not Strings: String == is canonical equivalence and would stop early.
            if Array(s.unicodeScalars) == Array(original.unicodeScalars) { return s }
        }
    }

    /// ftfy's `unescape_html`: `&#?[0-9A-Za-z]{1,24};` replaced from ftfy's table, or, for numeric
    /// references, by html.unescape when that consumes the whole reference.
    static func ftfyUnescapeHTML(_ s: String) -> String {
        guard s.contains("&") else { return s }
        let u = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        func alnum(_ c: Unicode.Scalar) -> Bool { c.isASCII && (("0"..."9").contains(c) || ("a"..."z").contains(c) || ("A"..."Z").contains(c)) }
        while i < u.count {
            guard u[i] == "&" else { out.append(u[i]); i += 1; continue }
            var j = i + 1
            if j < u.count, u[j] == "#" { j += 1 }
            let start = j
            while j < u.count, alnum(u[j]), j - start < 24 { j += 1 }
            guard j > start, j < u.count, u[j] == ";" else { out.append(u[i]); i += 1; continue }
            let match = String(String.UnicodeScalarView(u[i...j]))
            if let v = ftfyEntities[match] {
                out.append(contentsOf: v)
            } else if match.hasPrefix("&#") {
                let r = htmlUnescape(match)
                if r.contains(";") { out.append(contentsOf: match.unicodeScalars) } else { out.append(contentsOf: r.unicodeScalars) }
            } else {
                out.append(contentsOf: match.unicodeScalars)
            }
            i = j + 1
        }
        return String(out)
    }

    static func uncurlQuotes(_ s: String) -> String {
        var v = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            switch u.value {
            case 0x02BC, 0x2018...0x201B: v.append("'")
            case 0x201C...0x201F: v.append("\"")
            default: v.append(u)
            }
        }
        return String(v)
    }

    static func fixLineBreaks(_ s: String) -> String {
        let u = Array(s.unicodeScalars)
        var v = String.UnicodeScalarView()
        var i = 0
        while i < u.count {
            switch u[i].value {
            case 0x0D:
                v.append("\n")
                if i + 1 < u.count, u[i + 1] == "\n" { i += 1 }
            case 0x2028, 0x2029, 0x85: v.append("\n")
            default: v.append(u[i])
            }
            i += 1
        }
        return String(v)
    }

    /// ESC [ (digits or ;)* letter
    static func removeTerminalEscapes(_ s: String) -> String {
        let u = Array(s.unicodeScalars)
        var v = String.UnicodeScalarView()
        var i = 0
        while i < u.count {
            if u[i] == "\u{1B}", i + 1 < u.count, u[i + 1] == "[" {
                var j = i + 2
                while j < u.count, ("0"..."9").contains(u[j]) || u[j] == ";" { j += 1 }
                if j < u.count, u[j].isASCII, ("a"..."z").contains(u[j]) || ("A"..."Z").contains(u[j]) {
                    i = j + 1
                    continue
                }
            }
            v.append(u[i])
            i += 1
        }
        return String(v)
    }
}
