#!/usr/bin/env python3
"""Writes the tokenizer fixtures under Tests/Fixtures/tokenizer/ (run with ~/refenv/bin/python).

The real umT5 vocabulary cannot be downloaded here, so sentencepiece trains two small unigram
models on a generated multilingual corpus, with umT5's special ids (pad 0, eos 1, unk 2, no bos)
and the default nmt_nfkc normalizer (precompiled charsmap): `spiece.model` without and
`spiece_byte_fallback.model` with byte fallback. For >= 1,000 prompts (English, Japanese, Chinese,
emoji, odd whitespace, unseen scripts, very long) it records the ids from Python sentencepiece and
from transformers' T5TokenizerFast (whose `tokenizer.json` is saved too), plus the output of
Wan's prompt cleaning (wan/modules/tokenizers.py: ftfy.fix_text, html.unescape twice, strip,
collapse \\s+). Needs `protobuf` in ~/refenv (pip install protobuf) for the slow->fast conversion.
"""
import html, json, os, random, shutil, tempfile

import ftfy
import regex as re
import sentencepiece as spm
from transformers import AutoTokenizer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "tokenizer")
os.makedirs(OUT, exist_ok=True)

EN = ("a cat dog running through the forest at sunset cinematic slow motion close up of an old man smiling "
      "camera pans left over mountains river waves crash on rocks neon city night rain reflections drone shot "
      "beautiful young woman dancing in a field of flowers wind blowing hair golden hour light portrait "
      "astronaut floating inside spaceship earth visible through window photorealistic 4k highly detailed "
      "the quick brown fox jumps over lazy dogs while children play football in park").split()
JA = ["猫", "犬", "森", "夕日", "走る", "映画のような", "スローモーション", "老人", "笑顔", "カメラ", "山", "川", "波",
      "岩", "ネオン", "都市", "夜", "雨", "美しい", "女性", "踊る", "花畑", "風", "髪", "黄金", "光", "宇宙飛行士",
      "宇宙船", "地球", "窓", "写真のような", "詳細", "です", "ます", "の", "に", "が", "を", "は", "で", "と", "、", "。"]
ZH = ["一只", "猫", "狗", "在", "森林", "里", "奔跑", "日落", "电影感", "慢动作", "特写", "老人", "微笑", "镜头",
      "向左", "平移", "山脉", "河流", "海浪", "拍打", "岩石", "霓虹", "城市", "夜晚", "下雨", "倒影", "无人机",
      "美丽的", "年轻", "女子", "跳舞", "花田", "风", "吹动", "头发", "金色", "光线", "宇航员", "漂浮", "，", "。"]
EMOJI = ["😀", "🐱", "🐶", "🌅", "🎬", "🌊", "🌃", "💃", "🚀", "🌍", "✨", "❤️", "👍🏽", "👨‍👩‍👧", "🇯🇵"]
ODD_WS = [" ", "  ", "\t", "\n", "\u00a0", "\u3000", "\u2003", "\u200b", " \t ", "\r\n"]
EXTRA = ["Ｆｕｌｌｗｉｄｔｈ", "ｶﾀｶﾅ", "①", "ﬁne", "café", "naïve", "Ångström", "e\u0301", "x²", "½", "™",
         "１２３", "“quoted”", "‘single’", "&amp;", "&lt;b&gt;", "&quot;hi&quot;", "&#39;", "&nbsp;", "—", "…"]
RARE = ["Здравствуй мир", "مرحبا بالعالم", "שלום", "नमस्ते दुनिया", "𠮷野家", "龘靐齉", "ꙮ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "\u0007bell", "tab\u000bvt", "\ufeffbom", "\ud7a3", "\U0001F9D1\u200d\U0001F680"]


def sentence(rng, n):
    pools = [EN, EN, EN, JA, ZH]
    parts = []
    for _ in range(n):
        pool = rng.choice(pools)
        k = rng.randint(1, 8)
        sep = "" if pool is not EN else " "
        parts.append(sep.join(rng.choice(pool) for _ in range(k)))
        r = rng.random()
        if r < 0.15:
            parts.append(rng.choice(EMOJI))
        elif r < 0.25:
            parts.append(rng.choice(EXTRA))
    return " ".join(parts)


def train(name, byte_fallback, vocab):
    rng = random.Random(1)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        for _ in range(6000):
            f.write(sentence(rng, rng.randint(1, 6)) + "\n")
        corpus = f.name
    prefix = os.path.join(OUT, name)
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, model_type="unigram", vocab_size=vocab,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, byte_fallback=byte_fallback,
        character_coverage=0.995, normalization_rule_name="nmt_nfkc", num_threads=2,
        input_sentence_size=0, minloglevel=2)
    os.remove(prefix + ".vocab")
    os.remove(corpus)
    return prefix + ".model"


def prompts():
    rng = random.Random(2)
    out = ["", " ", "   ", "\t\n", "a", "A", "hello world", "  leading", "trailing  ", "a  b   c",
           "\u3000全角スペース\u3000", "no\u00a0break", "zero\u200bwidth", "<unk>", "</s>", "▁", "▁▁x"]
    out += RARE + EXTRA + EMOJI
    for i in range(1150):
        kind = i % 6
        if kind == 0:
            p = " ".join(rng.choice(EN) for _ in range(rng.randint(3, 30)))
        elif kind == 1:
            p = "".join(rng.choice(JA) for _ in range(rng.randint(2, 25)))
        elif kind == 2:
            p = "".join(rng.choice(ZH) for _ in range(rng.randint(2, 25)))
        elif kind == 3:
            p = sentence(rng, rng.randint(1, 5))
            p = "".join(c if c != " " or rng.random() > 0.3 else rng.choice(ODD_WS) for c in p)
            p = rng.choice(ODD_WS) + p + rng.choice(ODD_WS)
        elif kind == 4:
            p = sentence(rng, rng.randint(1, 4)) + " " + rng.choice(RARE) + " " + rng.choice(EMOJI) * rng.randint(1, 3)
        else:
            p = sentence(rng, rng.randint(1, 3))
            if rng.random() < 0.5:
                p = p.upper()
        out.append(p)
    for i in range(24):
        out.append(sentence(random.Random(100 + i), 60 + 10 * i))  # very long
    return out


def wan_clean(text):
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip()


def write_cleaner_tables():
    """Sources/WandModels/Tokenizer/PromptCleanerTables.swift: the data tables of Python's
    html.unescape and of ftfy's fixers, as line-based string literals (fast to compile)."""
    import html as html_module
    from ftfy import chardata as cd

    def hexs(value):
        return ",".join("%X" % ord(c) for c in value) if value is not None else ""

    def table(pairs):
        return "\n".join(k + "\t" + v for k, v in pairs)

    sloppy = {c: bytes([c]).decode("sloppy-windows-1252") for c in range(0x80, 0xA0)}
    tables = {
        "html5Entities": table((k, hexs(v)) for k, v in sorted(html_module.entities.html5.items())),
        "ftfyEntities": table((k, hexs(v)) for k, v in sorted(cd.HTML_ENTITIES.items())),
        "invalidCharrefs": table(("%X" % k, hexs(v)) for k, v in sorted(html_module._invalid_charrefs.items())),
        "invalidCodepoints": table(("%X" % k, "") for k in sorted(html_module._invalid_codepoints)),
        "ftfyControlChars": table(("%X" % k, hexs(v)) for k, v in sorted(cd.CONTROL_CHARS.items())),
        "ftfyWidthMap": table(("%X" % k, hexs(v)) for k, v in sorted(cd.WIDTH_MAP.items())),
        "ftfyLigatures": table(("%X" % k, hexs(v)) for k, v in sorted(cd.LIGATURES.items())),
        "sloppyWindows1252": table(("%X" % k, hexs(v)) for k, v in sorted(sloppy.items())),
    }
    for name, text in tables.items():
        assert '"""' not in text and "\\" not in text
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Sources", "WandModels",
                        "Tokenizer", "PromptCleanerTables.swift")
    with open(path, "w", encoding="utf-8") as f:
        f.write("// Generated by Tools/reference/tokenizer_fixtures.py from Python's html.entities/html module and\n")
        f.write("// ftfy.chardata; do not edit. Lines are \"key<TAB>comma-separated hex code points\" (empty = delete).\n")
        f.write("enum PromptCleanerTables {\n")
        for name, text in tables.items():
            f.write('    static let %s = """\n%s\n"""\n' % (name, text))
        f.write("}\n")


def main():
    write_cleaner_tables()
    models = {"spiece.model": train("spiece", False, 3000),
              "spiece_byte_fallback.model": train("spiece_byte_fallback", True, 1500)}
    ps = prompts()
    result = {"prompts": ps, "clean": [wan_clean(p) for p in ps]}
    for name, path in models.items():
        sp = spm.SentencePieceProcessor(model_file=path)
        entry = {"sentencepiece": [sp.encode(p) for p in ps]}
        # transformers converts the sentencepiece model to a fast (tokenizers) T5 tokenizer;
        # extra_ids=0 keeps the vocabulary identical to the .model.
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(path, os.path.join(tmp, "spiece.model"))
            with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
                json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": 0, "eos_token": "</s>",
                           "unk_token": "<unk>", "pad_token": "<pad>"}, f)
            fast = AutoTokenizer.from_pretrained(tmp)
            assert len(fast) == sp.get_piece_size()
            if name == "spiece.model":  # one tokenizer.json is enough (the charsmap alone is 300 KB)
                fast.save_pretrained(os.path.join(tmp, "out"))
                shutil.copy(os.path.join(tmp, "out", "tokenizer.json"), os.path.join(OUT, "spiece.tokenizer.json"))
        hf = [fast(p, add_special_tokens=True)["input_ids"] for p in ps]
        # Stored only where they differ from sentencepiece + EOS, to keep the fixture small.
        entry["t5_fast_differs"] = {str(i): ids for i, (ids, ref) in enumerate(zip(hf, entry["sentencepiece"])) if ids != ref + [1]}
        entry["t5_fast_cleaned_512"] = [fast(c, add_special_tokens=True, padding="max_length", truncation=True,
                                             max_length=512)["input_ids"] for c in result["clean"][:8]]
        print(name, "pieces:", sp.get_piece_size(), "prompts where fast != sentencepiece+eos:", len(entry["t5_fast_differs"]))
        result[name] = entry
    with open(os.path.join(OUT, "expected_ids.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, separators=(",", ":"))
    print(len(ps), "prompts")


main()
