#!/usr/bin/env python3
"""Reference fixtures for Wand's umT5 text encoder.

Builds a tiny random official `wan.modules.t5.T5Encoder` (umT5 style: one relative-position bias
per layer, shared_pos=False), runs it in float32 on padded id batches with their masks, and keeps
what the Wan pipelines keep (T5EncoderModel.__call__: rows [0, seq_len) where seq_len counts the
mask ones), zero-padded back to text_len as the DiT does. The same weights are loaded into
transformers' UMT5EncoderModel (keys renamed) and checked to give the same output. Writes, under
Tests/Fixtures/umt5/:

    tiny.official.safetensors        weights, official names (§6.4), float32
    tiny.transformers/               save_pretrained() of UMT5EncoderModel in bfloat16
                                     (config.json + model.safetensors); weights are rounded to
                                     bf16 first so both files hold identical values
    tiny.io.safetensors              ids [N, text_len] (I64, pad 0), mask [N, text_len] (I64),
                                     out [N, text_len, d_model] (trimmed then zero-padded),
                                     raw [N, text_len, d_model] (encoder output before trimming),
                                     buckets [2*R+1] (I64): bucket of relative offset r = -R..R

    ~/refenv/bin/python Tools/reference/umt5_fixtures.py
"""
import json, math, os, shutil, sys, tempfile

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_cpu  # noqa: F401  (must precede the wan imports)
from wan.modules.t5 import T5Encoder
from transformers import UMT5Config, UMT5EncoderModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "umt5")

VOCAB, DIM, HEADS, FFN, LAYERS, BUCKETS = 300, 64, 4, 128, 3, 32
TEXT_LEN = 40
REAL_LENS = [5, 17, 40]  # includes EOS (id 1); the last one fills text_len
BUCKET_RANGE = 300


def official_to_hf(key):
    if key == "token_embedding.weight":
        return "shared.weight"
    if key == "norm.weight":
        return "encoder.final_layer_norm.weight"
    _, n, rest = key.split(".", 2)
    b = f"encoder.block.{n}.layer."
    table = {"norm1.weight": "0.layer_norm.weight", "norm2.weight": "1.layer_norm.weight",
             "attn.q.weight": "0.SelfAttention.q.weight", "attn.k.weight": "0.SelfAttention.k.weight",
             "attn.v.weight": "0.SelfAttention.v.weight", "attn.o.weight": "0.SelfAttention.o.weight",
             "pos_embedding.embedding.weight": "0.SelfAttention.relative_attention_bias.weight",
             "ffn.gate.0.weight": "1.DenseReluDense.wi_0.weight",
             "ffn.fc1.weight": "1.DenseReluDense.wi_1.weight",
             "ffn.fc2.weight": "1.DenseReluDense.wo.weight"}
    return b + table[rest]


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(4242)
    model = T5Encoder(vocab=VOCAB, dim=DIM, dim_attn=DIM, dim_ffn=FFN, num_heads=HEADS,
                      num_layers=LAYERS, num_buckets=BUCKETS, shared_pos=False, dropout=0.0).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                v = 1 + 0.2 * torch.randn(p.shape, generator=gen)
            elif "token_embedding" in name:
                v = torch.randn(p.shape, generator=gen)
            elif "pos_embedding" in name:
                v = 0.5 * torch.randn(p.shape, generator=gen)
            else:
                v = torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1])
            p.copy_(v.to(torch.bfloat16).float())

    ids = torch.zeros(len(REAL_LENS), TEXT_LEN, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(REAL_LENS):
        ids[i, :n - 1] = torch.randint(3, VOCAB, (n - 1,), generator=gen)
        ids[i, n - 1] = 1  # EOS
        mask[i, :n] = 1
    with torch.no_grad():
        raw = model(ids, mask)
    seq_lens = mask.gt(0).sum(dim=1).long()
    kept = [u[:v] for u, v in zip(raw, seq_lens)]  # T5EncoderModel.__call__
    out = torch.stack([torch.cat([u, u.new_zeros(TEXT_LEN - u.size(0), u.size(1))]) for u in kept])

    cfg = UMT5Config(vocab_size=VOCAB, d_model=DIM, d_kv=DIM // HEADS, d_ff=FFN, num_layers=LAYERS,
                     num_heads=HEADS, relative_attention_num_buckets=BUCKETS,
                     relative_attention_max_distance=128, feed_forward_proj="gated-gelu",
                     dropout_rate=0.0, layer_norm_epsilon=1e-6, tie_word_embeddings=False)
    hf = UMT5EncoderModel(cfg).eval()
    sd = {official_to_hf(k): v for k, v in model.state_dict().items()}
    sd["encoder.embed_tokens.weight"] = sd["shared.weight"]
    hf.load_state_dict(sd, strict=True)
    with torch.no_grad():
        hraw = hf(input_ids=ids, attention_mask=mask).last_hidden_state
    for i, n in enumerate(REAL_LENS):
        rel = ((hraw[i, :n] - raw[i, :n]).norm() / raw[i, :n].norm()).item()
        print(f"prompt {i} len {n}: |x|rms={raw[i, :n].pow(2).mean().sqrt():.3f} "
              f"transformers-vs-wan rel={rel:.2e}")
        assert rel < 1e-5, rel

    r = torch.arange(-BUCKET_RANGE, BUCKET_RANGE + 1)
    buckets = model.blocks[0].pos_embedding._relative_position_bucket(r)

    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              os.path.join(OUT, "tiny.official.safetensors"))
    hf_dir = os.path.join(OUT, "tiny.transformers")
    shutil.rmtree(hf_dir, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        hf.to(torch.bfloat16).save_pretrained(tmp, safe_serialization=True)
        os.makedirs(hf_dir)
        for f in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(tmp, f), os.path.join(hf_dir, f))
    save_file({"ids": ids, "mask": mask, "out": out.contiguous(), "raw": raw.contiguous(),
               "buckets": buckets.long().contiguous()},
              os.path.join(OUT, "tiny.io.safetensors"))
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT) for f in fs)
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
