"""Phase 2b of the demo model: with the encoder frozen (the DiT learns its latents), go on training
the VAE decoder on whole 17-frame clips, so that the causal cache is trained across all five
latent frames the demo decodes (the first phase saw two). Runs beside the latent encoding and the
DiT training; writes <out>/vae-final, which export.py prefers.
"""
import argparse
import json
import os
import random
import time

import torch
from diffusers import AutoencoderKLWan

from train_vae import clip_pool, random_batch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/wand-demo-train")
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--lr", type=float, default=2e-4)
    args = p.parse_args()
    torch.manual_seed(2)
    torch.set_num_threads(args.threads)
    rng = random.Random(2)
    vae = AutoencoderKLWan.from_pretrained(os.path.join(args.out, "vae"))
    vae.requires_grad_(False)
    trained = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    for q in trained:
        q.requires_grad_(True)
    opt = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.0)
    pool = clip_pool(160)
    step, t0 = 0, time.time()
    while time.time() - t0 < args.minutes * 60:
        x, w = random_batch(pool, rng, 2, 96, 17)
        with torch.no_grad():
            z = vae.encode(x).latent_dist.mode()
        y = vae.decode(z).sample
        rec = (((y - x).abs() + (y - x).pow(2)) * w).mean() / w.mean()
        opt.zero_grad(set_to_none=True)
        rec.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        if step % 10 == 0:
            psnr = 10 * torch.log10(4.0 / (y - x).pow(2).mean().clamp_min(1e-10))
            print(f"step {step} t={time.time() - t0:.0f}s rec={rec.item():.4f} psnr={psnr.item():.1f}", flush=True)
        if step % 100 == 0 and step:
            vae.save_pretrained(os.path.join(args.out, "vae-final"))
        step += 1
    vae.save_pretrained(os.path.join(args.out, "vae-final"))
    json.dump({"steps": step, "seconds": round(time.time() - t0), "threads": args.threads, "lr": args.lr},
              open(os.path.join(args.out, "decoder-train.json"), "w"))
    print(f"done: {step} steps in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
