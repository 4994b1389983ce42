#!/usr/bin/env python3
"""Reference fixtures for WandTensor's ops, made by PyTorch on the CPU.

Run with the reference env:  ~/refenv/bin/python Tools/reference/ops_fixtures.py
Writes Tests/Fixtures/tensor/*.safetensors (float32 unless noted; small, committed).
The Swift tests hard-code the same op parameters (eps, scales, sizes) as below.
Packages: torch, safetensors, numpy (all in ~/refenv).
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "tensor")
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(1)


def save(name, tensors):
    tensors = {k: v.contiguous().clone() for k, v in tensors.items()}
    save_file(tensors, os.path.join(OUT, name + ".safetensors"))


def rnd(*shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).float()


# --- dtype tables: every bit pattern widened by torch --------------------------------------
def dtypes():
    f16 = torch.arange(0, 65536, dtype=torch.int32).to(torch.int16).view(torch.float16).float()
    e4 = torch.arange(0, 256, dtype=torch.int32).to(torch.uint8).view(torch.float8_e4m3fn).float()
    e5 = torch.arange(0, 256, dtype=torch.int32).to(torch.uint8).view(torch.float8_e5m2).float()
    # bf16 is checked against its definition in the tests; a strided sample from torch as well.
    bf = torch.arange(0, 65536, 7, dtype=torch.int32).to(torch.int16).view(torch.bfloat16).float()
    save("dtypes", {"f16": f16, "e4m3": e4, "e5m2": e5, "bf16_every7": bf})


# --- torch.randn on the CPU generator --------------------------------------------------------
RANDN_CASES = [
    (0, [1]), (0, [2]), (42, [3]), (7, [15]), (0, [16]), (42, [17]), (2**32 + 5, [2, 3, 5]),
    (42, [31]), (0, [33]), (123456789012345, [100]), (2**32 + 5, [4, 4, 4]),
    (42, [48, 3, 4, 5]), (0, [7, 11, 13]), (2**63 - 1, [16, 5]), (99, [1, 2, 1, 3, 4]),
]


def randn():
    out = {}
    for i, (seed, shape) in enumerate(RANDN_CASES):
        torch.manual_seed(seed)
        out[f"case{i}"] = torch.randn(shape)
        out[f"case{i}_seed"] = torch.tensor([seed & 0xFFFFFFFF, seed >> 32], dtype=torch.int64)
    # two draws in a row from one seed (generator state carries over, incl. the cached normal)
    torch.manual_seed(5)
    a = torch.randn(3)
    b = torch.randn(20)
    out["seq5_a"], out["seq5_b"] = a, b
    # A large draw (TI2V-5B latent channels x 5 frames at 704x1280/16) checked at every 101st
    # element: exercises the vectorized log/sincos path on ~845k inputs.
    torch.manual_seed(2026)
    big = torch.randn(48, 5, 44, 80)
    out["big_2026_every101"] = big.flatten()[::101]
    save("randn", out)


def dense():
    x = rnd(5, 24, seed=1); w = rnd(16, 24, seed=2); b = rnd(16, seed=3)
    a = rnd(7, 9, seed=4); c = rnd(9, 5, seed=5)
    ln_x = rnd(6, 32, seed=6) * 3 + 1; ln_w = rnd(32, seed=7); ln_b = rnd(32, seed=8)
    rms_x = rnd(6, 64, seed=9) * 2; rms_w = rnd(64, seed=10)
    v = rnd(8, 2, 3, 4, seed=11); g = rnd(8, 1, 1, 1, seed=12); gb = rnd(8, 1, 1, 1, seed=13)
    gn_x = rnd(8, 4, 5, seed=14) * 2 + 0.5; gn_w = rnd(8, seed=15); gn_b = rnd(8, seed=16)
    sm = rnd(5, 13, seed=17) * 4
    act = torch.linspace(-8, 8, 257)
    ms = rms_x.pow(2).mean(-1, keepdim=True)
    save("dense", {
        "linear_x": x, "linear_w": w, "linear_b": b, "linear_y": F.linear(x, w, b),
        "linear_nob_y": F.linear(x, w),
        "matmul_a": a, "matmul_b": c, "matmul_y": a @ c,
        "ln_x": ln_x, "ln_w": ln_w, "ln_b": ln_b,
        "ln_plain_y": F.layer_norm(ln_x, (32,), eps=1e-6),
        "ln_affine_y": F.layer_norm(ln_x, (32,), ln_w, ln_b, eps=1e-6),
        "rms_x": rms_x, "rms_w": rms_w, "rms_y": rms_x * torch.rsqrt(ms + 1e-6) * rms_w,
        "crms_x": v, "crms_g": g, "crms_b": gb,
        "crms_y": F.normalize(v, dim=0) * math.sqrt(8) * g,
        "crms_bias_y": F.normalize(v, dim=0) * math.sqrt(8) * g + gb,
        "gn_x": gn_x, "gn_w": gn_w, "gn_b": gn_b,
        "gn_y": F.group_norm(gn_x[None], 4, gn_w, gn_b, eps=1e-6)[0],
        "softmax_x": sm, "softmax_y": torch.softmax(sm, -1),
        "act_x": act, "gelu_tanh_y": F.gelu(act, approximate="tanh"), "gelu_erf_y": F.gelu(act),
        "silu_y": F.silu(act),
    })


def attention():
    out = {}
    for name, lq, lk, h, d in [("a", 37, 53, 3, 16), ("b", 19, 150, 2, 128), ("c", 1, 5, 1, 8)]:
        q = rnd(lq, h, d, seed=20 + lq); k = rnd(lk, h, d, seed=21 + lk); v = rnd(lk, h, d, seed=22 + lk)
        # [L, heads, d] -> [1, heads, L, d]
        tq, tk, tv = (t.permute(1, 0, 2)[None] for t in (q, k, v))
        out[f"{name}_q"], out[f"{name}_k"], out[f"{name}_v"] = q, k, v
        out[f"{name}_y"] = F.scaled_dot_product_attention(tq, tk, tv)[0].permute(1, 0, 2)
    # umT5 style: no 1/sqrt(d) scaling, additive position bias [heads, Lq, Lk]
    q, k, v = out["a_q"] * 0.3, out["a_k"] * 0.3, out["a_v"]
    bias = rnd(3, 37, 53, seed=30)
    tq, tk, tv = (t.permute(1, 0, 2)[None] for t in (q, k, v))
    y = F.scaled_dot_product_attention(tq, tk, tv, attn_mask=bias[None], scale=1.0)[0].permute(1, 0, 2)
    out.update({"u_q": q, "u_k": k, "u_v": v, "u_bias": bias, "u_y": y})
    save("attention", out)


def rope():
    # Wan 3-D RoPE (spec 2.5) in float64 as the reference does: adjacent pairs, 22/21/21 split.
    f, h, w, heads, hd = 2, 3, 4, 2, 128
    x = rnd(f * h * w, heads, hd, seed=40)

    def params(dim, max_pos=1024, theta=10000.0):
        freqs = 1.0 / torch.pow(theta, torch.arange(0, dim, 2, dtype=torch.float64) / dim)
        ang = torch.outer(torch.arange(max_pos, dtype=torch.float64), freqs)
        return torch.polar(torch.ones_like(ang), ang)

    d = hd
    freqs = torch.cat([params(d - 4 * (d // 6)), params(2 * (d // 6)), params(2 * (d // 6))], dim=1)
    c = d // 2
    fr = freqs.split([c - 2 * (c // 3), c // 3, c // 3], dim=1)
    grid = torch.cat([
        fr[0][:f].view(f, 1, 1, -1).expand(f, h, w, -1),
        fr[1][:h].view(1, h, 1, -1).expand(f, h, w, -1),
        fr[2][:w].view(1, 1, w, -1).expand(f, h, w, -1),
    ], dim=-1).reshape(f * h * w, 1, -1)
    xc = torch.view_as_complex(x.to(torch.float64).reshape(f * h * w, heads, -1, 2))
    y = torch.view_as_real(xc * grid).flatten(2).float()
    save("rope", {"x": x, "y": y})


def conv():
    x = rnd(3, 4, 6, 7, seed=50); w = rnd(5, 3, 3, 3, 3, seed=51); b = rnd(5, seed=52)
    causal = F.conv3d(F.pad(x, (1, 1, 1, 1, 2, 0))[None], w, b)[0]
    wt = rnd(4, 3, 3, 1, 1, seed=53); bt = rnd(4, seed=54)
    tconv = F.conv3d(x[None], wt, bt, stride=(2, 1, 1))[0]          # time_conv of downsample3d
    w1 = rnd(6, 3, 1, 1, 1, seed=55)
    pw = F.conv3d(x[None], w1)[0]                                   # 1x1x1, no bias
    x2 = rnd(4, 9, 10, seed=56); w2 = rnd(6, 4, 3, 3, seed=57); b2 = rnd(6, seed=58)
    c2 = F.conv2d(x2[None], w2, b2, padding=1)[0]
    c2s = F.conv2d(F.pad(x2, (0, 1, 0, 1))[None], w2, b2, stride=2)[0]  # downsample2d
    # Enough channels for wand's Winograd path; odd sizes leave partial 2x2 tiles. "cached": a
    # later chunk of the streaming decoder, history frames in front instead of time padding.
    xw = rnd(32, 3, 9, 37, seed=70); ww = rnd(8, 32, 3, 3, 3, seed=71); bw = rnd(8, seed=72)
    wcausal = F.conv3d(F.pad(xw, (1, 1, 1, 1, 2, 0))[None], ww, bw)[0]
    wcached = F.conv3d(F.pad(xw, (1, 1, 1, 1, 0, 0))[None], ww, bw)[0]
    save("conv", {"x": x, "w": w, "b": b, "causal_y": causal, "wt": wt, "bt": bt, "tconv_y": tconv,
                  "w1": w1, "pw_y": pw, "x2": x2, "w2": w2, "b2": b2, "c2_y": c2, "c2s_y": c2s,
                  "xw": xw, "ww": ww, "bw": bw, "wcausal_y": wcausal, "wcached_y": wcached})


def resample():
    x = rnd(2, 5, 7, seed=60)
    out = {"x": x}
    for size in [(9, 4), (10, 14), (3, 3)]:
        tag = f"{size[0]}x{size[1]}"
        xb = x[None]
        out[f"nearest_{tag}"] = F.interpolate(xb, size=size, mode="nearest")[0]
        out[f"nearest_exact_{tag}"] = F.interpolate(xb, size=size, mode="nearest-exact")[0]
        for ac in (False, True):
            out[f"bilinear_{int(ac)}_{tag}"] = F.interpolate(xb, size=size, mode="bilinear", align_corners=ac)[0]
            out[f"bicubic_{int(ac)}_{tag}"] = F.interpolate(xb, size=size, mode="bicubic", align_corners=ac)[0]
        out[f"area_{tag}"] = F.interpolate(xb, size=size, mode="area")[0]
    # shape ops
    y = rnd(8, 3, 4, seed=61)
    out["ps_x"] = y
    out["pixel_shuffle"] = F.pixel_shuffle(y[None], 2)[0]
    z = rnd(3, 4, 6, seed=62)
    out["pu_x"] = z
    out["pixel_unshuffle"] = F.pixel_unshuffle(z[None], 2)[0]
    out["pad_y"] = F.pad(z, (1, 2, 0, 3, 2, 1))
    out["permute_y"] = z.permute(2, 0, 1)
    out["slice_y"] = z[1:3, ::2, 2:5]
    out["concat_y"] = torch.cat([z, z * 2], dim=1)
    save("resample", out)


if __name__ == "__main__":
    every = (dtypes, randn, dense, attention, rope, conv, resample)
    chosen = sys.argv[1:]  # e.g. `conv`: only those fixtures
    for fn in every:
        if not chosen or fn.__name__ in chosen:
            fn()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {OUT} ({total} bytes)")
