"""Shared setup of the Animate fixture scripts (animate_fixtures.py is the entry point): the CPU
shims, paths, exact attention for the official code, and small helpers."""
import math, os, sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchvision_cpu  # noqa: F401,E402  (before torchvision / transformers image processors)
import wan_cpu  # noqa: F401,E402  (before the wan imports)

torch.set_num_threads(1)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(FIX, "animate")
MODEL = os.path.join(OUT, "models", "tiny-animate")


def exact_attention(q, k, v, q_lens=None, k_lens=None, **_):
    """wan's flash_attention on [B, L, N, D], exact float32 softmax attention, no masking."""
    qh, kh, vh = (u.transpose(1, 2).float() for u in (q, k, v))
    s = (qh @ kh.transpose(-1, -2)) / math.sqrt(q.size(-1))
    return (s.softmax(-1) @ vh).transpose(1, 2).contiguous()


def f16_round_(module):
    """Rounds every parameter to float16 (stored as f16, computed in f32 on both sides)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.half().float())
    return module


def u8_image(h, w, seed):
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.45 * np.sin(7 * xx + 2 * yy + g.uniform(0, 3)),
                    0.5 + 0.45 * np.cos(5 * yy - 3 * xx),
                    0.5 + 0.4 * np.sin(9 * (xx * yy) + 1)], -1)
    img += g.normal(0, 0.08, img.shape)  # texture, so resampling errors would show
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)

