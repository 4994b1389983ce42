#!/usr/bin/env python3
"""Reference fixtures for Wand's Wan DiT forward pass.

Builds tiny random `wan.modules.model.WanModel`s (the official wan22 code), runs one forward pass
each in float32, and checks that diffusers' `WanTransformer3DModel` with the same weights (keys
renamed as diffusers' convert_wan_to_diffusers.py does) gives the same output. Writes, per config
NAME, under Tests/Fixtures/dit/:

    NAME.official.safetensors     weights, official key names, float32
    NAME.official.config.json     config.json as WanModel.save_config writes it
    NAME.diffusers.safetensors    the same weights, diffusers key names, stored as bfloat16
                                  (weights are rounded to bf16 first, so both files hold the
                                  exact same values and one reference output serves both)
    NAME.diffusers.config.json    diffusers' WanTransformer3DModel config
    NAME.io.safetensors           x [C_in,F,H,W], (y [C_y,F,H,W]), t [1] or [L],
                                  context [real_len, text_dim] (not padded), out [C_out,F,H,W]

    ~/refenv/bin/python Tools/reference/dit_fixtures.py

Attention: wan calls flash_attention (CUDA only); it is replaced by exact float32 softmax
attention (no bf16 cast), which is what a float32 port must match.
"""
import json, math, os, sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_cpu  # noqa: F401  (must precede the wan imports)
import wan.modules.model as wan_model
from diffusers import WanTransformer3DModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "dit")


def exact_attention(q, k, v, q_lens=None, k_lens=None, **_):
    # q [B, Lq, N, C]; k_lens is None (cross) or the full length (self), so no masking is needed.
    qh, kh, vh = (u.transpose(1, 2).float() for u in (q, k, v))
    s = (qh @ kh.transpose(-1, -2)) / math.sqrt(q.size(-1))
    return (s.softmax(-1) @ vh).transpose(1, 2).contiguous()


wan_model.flash_attention = exact_attention

CONFIGS = [
    # name, WanModel kwargs, latent (F, H, W), timestep kind, real text rows
    ("t2v_d64_h2", dict(model_type="t2v", dim=64, ffn_dim=128, num_heads=2, num_layers=2,
                        in_dim=16, out_dim=16, text_dim=32, text_len=16, freq_dim=256),
     (3, 6, 10), "scalar", 7),
    ("t2v_d96_h3", dict(model_type="t2v", dim=96, ffn_dim=160, num_heads=3, num_layers=1,
                        in_dim=8, out_dim=8, text_dim=24, text_len=12, freq_dim=64),
     (5, 4, 8), "scalar", 12),
    ("i2v_d48_h1", dict(model_type="i2v", dim=48, ffn_dim=96, num_heads=1, num_layers=2,
                        in_dim=36, out_dim=16, text_dim=32, text_len=16, freq_dim=128),
     (2, 8, 6), "scalar", 3),
    ("ti2v_d64_h2", dict(model_type="ti2v", dim=64, ffn_dim=128, num_heads=2, num_layers=2,
                         in_dim=48, out_dim=48, text_dim=32, text_len=16, freq_dim=256),
     (3, 4, 6), "per_token", 9),
]

TIMESTEP = {"t2v_d64_h2": 937.0, "t2v_d96_h3": 250.0, "i2v_d48_h1": 999.0, "ti2v_d64_h2": 700.0}

# official -> diffusers (scripts/convert_wan_to_diffusers.py, TRANSFORMER_KEYS_RENAME_DICT)
RENAMES = [
    ("time_embedding.0", "condition_embedder.time_embedder.linear_1"),
    ("time_embedding.2", "condition_embedder.time_embedder.linear_2"),
    ("text_embedding.0", "condition_embedder.text_embedder.linear_1"),
    ("text_embedding.2", "condition_embedder.text_embedder.linear_2"),
    ("time_projection.1", "condition_embedder.time_proj"),
    ("head.modulation", "scale_shift_table"),
    ("head.head", "proj_out"),
    ("modulation", "scale_shift_table"),
    ("ffn.0", "ffn.net.0.proj"),
    ("ffn.2", "ffn.net.2"),
    ("norm2", "norm__placeholder"),
    ("norm3", "norm2"),
    ("norm__placeholder", "norm3"),
    ("self_attn", "attn1"),
    ("cross_attn", "attn2"),
    (".o.", ".to_out.0."),
    (".q.", ".to_q."),
    (".k.", ".to_k."),
    (".v.", ".to_v."),
]


def to_diffusers_key(key):
    for old, new in RENAMES:
        key = key.replace(old, new)
    return key


def randomize(model, gen):
    """Weights ~ N(0, 1/fan_in) so activations stay O(1); biases and tables small but nonzero.
    Every value is rounded to bfloat16 so a bf16 copy of the file is lossless."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("modulation"):
                v = torch.randn(p.shape, generator=gen) * 0.3
            elif "norm" in name and name.endswith("weight"):
                v = 1 + 0.2 * torch.randn(p.shape, generator=gen)
            elif name.endswith("bias"):
                v = 0.1 * torch.randn(p.shape, generator=gen)
            else:
                fan_in = p[0].numel()
                v = torch.randn(p.shape, generator=gen) / math.sqrt(fan_in)
            p.copy_(v.to(torch.bfloat16).float())


def diffusers_config(kw):
    return dict(patch_size=(1, 2, 2), num_attention_heads=kw["num_heads"],
                attention_head_dim=kw["dim"] // kw["num_heads"], in_channels=kw["in_dim"],
                out_channels=kw["out_dim"], text_dim=kw["text_dim"], freq_dim=kw["freq_dim"],
                ffn_dim=kw["ffn_dim"], num_layers=kw["num_layers"], cross_attn_norm=True,
                qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None,
                added_kv_proj_dim=None, rope_max_seq_len=1024)


def build(name, kw, grid, tkind, real_len, seed):
    gen = torch.Generator().manual_seed(seed)
    model = wan_model.WanModel(**kw).eval()
    randomize(model, gen)
    F, H, W = grid
    L = F * (H // 2) * (W // 2)
    cin = kw["in_dim"]
    noise_ch = 16 if kw["model_type"] == "i2v" else cin
    x = torch.randn(noise_ch, F, H, W, generator=gen)
    y = torch.randn(cin - noise_ch, F, H, W, generator=gen) if noise_ch != cin else None
    context = torch.randn(real_len, kw["text_dim"], generator=gen)
    tval = TIMESTEP[name]
    if tkind == "scalar":
        t = torch.tensor([tval])
    else:  # TI2V image-to-video: latent frame 0 is clean (t = 0), one value per 2x2 patch
        mask = torch.ones(F, H, W)
        mask[0] = 0
        t = (mask[:, ::2, ::2].flatten() * tval)
    with torch.no_grad():
        out = model([x], t=t if tkind == "scalar" else t.unsqueeze(0), context=[context],
                    seq_len=L, y=None if y is None else [y])[0]

    # diffusers, same weights
    dkw = diffusers_config(kw)
    dmodel = WanTransformer3DModel(**dkw).eval()
    sd = {to_diffusers_key(k): v for k, v in model.state_dict().items()}
    missing, unexpected = dmodel.load_state_dict(sd, strict=True), None
    padded = torch.cat([context, context.new_zeros(kw["text_len"] - real_len, kw["text_dim"])])
    xin = x if y is None else torch.cat([x, y])
    dt = t if tkind == "scalar" else t.unsqueeze(0)
    with torch.no_grad():
        dout = dmodel(xin.unsqueeze(0), dt, padded.unsqueeze(0), return_dict=False)[0][0]
    rel = ((dout - out).norm() / out.norm()).item()
    print(f"{name}: L={L} out {tuple(out.shape)} |out|rms={out.pow(2).mean().sqrt():.3f} "
          f"diffusers-vs-wan rel={rel:.2e}")
    assert rel < 1e-5, rel

    official_sd = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(official_sd, os.path.join(OUT, f"{name}.official.safetensors"))
    save_file({to_diffusers_key(k): v.to(torch.bfloat16).contiguous() for k, v in official_sd.items()},
              os.path.join(OUT, f"{name}.diffusers.safetensors"))
    cfg = {"_class_name": "WanModel", "_diffusers_version": "0.33.0"}
    cfg.update({k: kw[k] for k in ("dim", "ffn_dim", "freq_dim", "in_dim", "model_type",
                                   "num_heads", "num_layers", "out_dim", "text_len")})
    cfg["eps"] = 1e-6
    cfg["text_dim"] = kw["text_dim"]  # not in the published files (4096 default); tiny needs it
    with open(os.path.join(OUT, f"{name}.official.config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    dcfg = {"_class_name": "WanTransformer3DModel", "_diffusers_version": "0.35.0"}
    dcfg.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in dkw.items()})
    dcfg["pos_embed_seq_len"] = None
    with open(os.path.join(OUT, f"{name}.diffusers.config.json"), "w") as f:
        json.dump(dcfg, f, indent=2, sort_keys=True)
    io = {"x": x, "t": t.float(), "context": context, "out": out.contiguous()}
    if y is not None:
        io["y"] = y
    save_file({k: v.contiguous() for k, v in io.items()}, os.path.join(OUT, f"{name}.io.safetensors"))


def build_comfy_fp8(seed):
    """ComfyUI fp8-scaled single file (spec §9.3): every 2-D Linear weight stored as float8_e4m3fn
    with a float32 scalar `X.scale_weight` (w = fp8 * scale), a `scaled_fp8` marker, names under
    `model.diffusion_model.`. The reference runs on the dequantized weights."""
    name = "comfy_fp8_d32_h1"
    kw = dict(model_type="t2v", dim=32, ffn_dim=64, num_heads=1, num_layers=1, in_dim=16, out_dim=16,
              text_dim=16, text_len=8, freq_dim=64)
    gen = torch.Generator().manual_seed(seed)
    model = wan_model.WanModel(**kw).eval()
    randomize(model, gen)
    stored = {}
    with torch.no_grad():
        for key, p in model.named_parameters():
            if p.ndim == 2:
                scale = p.abs().max() / 448.0
                q = (p / scale).to(torch.float8_e4m3fn)
                p.copy_(q.float() * scale)
                stored[key] = q
                stored[key[:-len("weight")] + "scale_weight"] = scale.reshape(()).float()
            else:
                stored[key] = p.detach().clone()
    F, H, W = 3, 4, 6
    x = torch.randn(16, F, H, W, generator=gen)
    context = torch.randn(5, 16, generator=gen)
    with torch.no_grad():
        out = model([x], t=torch.tensor([400.0]), context=[context], seq_len=F * (H // 2) * (W // 2))[0]
    sd = {"model.diffusion_model." + k: v.contiguous() for k, v in stored.items()}
    sd["scaled_fp8"] = torch.zeros(2, dtype=torch.float8_e4m3fn)
    save_file(sd, os.path.join(OUT, f"{name}.comfy.safetensors"))
    cfg = {"_class_name": "WanModel", "_diffusers_version": "0.33.0", "eps": 1e-6}
    cfg.update(kw)
    with open(os.path.join(OUT, f"{name}.official.config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    save_file({"x": x, "t": torch.tensor([400.0]), "context": context, "out": out.contiguous()},
              os.path.join(OUT, f"{name}.io.safetensors"))
    print(f"{name}: fp8-scaled, |out|rms={out.pow(2).mean().sqrt():.3f}")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(2)
    for i, (name, kw, grid, tkind, real_len) in enumerate(CONFIGS):
        build(name, kw, grid, tkind, real_len, seed=1000 + i)
    build_comfy_fp8(seed=2000)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
