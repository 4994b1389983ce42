"""Phase 1 of the demo model: train a small Wan2.2-architecture VAE (diffusers AutoencoderKLWan,
z_dim 48, 4x16x16 with the 2x2 patchify) on random crops of the procedural clips.

The encoder is trained jointly with the decoder for --minutes, then frozen: the DiT is trained on
its latents, so only the decoder may go on learning afterwards (train_vae_decoder in train_dit.py).
"""
import argparse
import json
import os
import random
import time

import numpy as np
import torch
from diffusers import AutoencoderKLWan

import dataset
from eval.detect import background_colours, shape_masks

VAE_CONFIG = dict(base_dim=16, decoder_base_dim=16, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                  attn_scales=[], temperal_downsample=[False, True, True], is_residual=True,
                  in_channels=12, out_channels=12, patch_size=2, scale_factor_spatial=16)


def make_vae():
    return AutoencoderKLWan(**VAE_CONFIG)


def clip_pool(count):
    """Clips with their shape masks (the eval detector's, exact on rendered clips)."""
    pool = []
    for i in range(count):
        frames = dataset.clip("train", 1_000_000 + i)[2]
        pool.append((frames, shape_masks(frames, background_colours(frames))))
    return pool


def random_batch(pool, rng, batch, size, frames):
    """Crops (B C T H W in [-1, 1]) and loss weights: the shape's pixels count 8x more than the
    background's, and most crops are placed around the shape, because colour, outline and motion
    of the shape are what the demo is about."""
    out = np.empty((batch, frames, size, size, 3), dtype=np.uint8)
    weight = np.empty((batch, frames, size, size), dtype=np.float32)
    for b in range(batch):
        clip, mask = pool[rng.randrange(len(pool))]
        t0 = rng.randrange(clip.shape[0] - frames + 1) if rng.random() < 0.5 else 0
        ys, xs = np.nonzero(mask[t0])
        if len(xs) and rng.random() < 0.75:
            cy, cx = int(ys.mean()) + rng.randint(-24, 24), int(xs.mean()) + rng.randint(-24, 24)
            y0 = min(max(cy - size // 2, 0), dataset.HEIGHT - size)
            x0 = min(max(cx - size // 2, 0), dataset.WIDTH - size)
        else:
            y0 = rng.randrange(dataset.HEIGHT - size + 1)
            x0 = rng.randrange(dataset.WIDTH - size + 1)
        out[b] = clip[t0:t0 + frames, y0:y0 + size, x0:x0 + size]
        weight[b] = 1.0 + 7.0 * mask[t0:t0 + frames, y0:y0 + size, x0:x0 + size]
    x = torch.from_numpy(out).float().div(127.5).sub(1.0)
    return x.permute(0, 4, 1, 2, 3).contiguous(), torch.from_numpy(weight)[:, None]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/wand-demo-train")
    p.add_argument("--minutes", type=float, default=15)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pool", type=int, default=300)
    p.add_argument("--resume", action="store_true", help="go on from the saved VAE")
    p.add_argument("--lr", type=float, default=4e-4)
    args = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(0)
    t_start = time.time()
    pool = clip_pool(args.pool)
    print(f"rendered {len(pool)} clips in {time.time() - t_start:.0f}s", flush=True)
    saved = os.path.join(args.out, "vae")
    vae = AutoencoderKLWan.from_pretrained(saved) if args.resume else make_vae()
    opt = torch.optim.AdamW(vae.parameters(), lr=args.lr, weight_decay=0.0)
    step, t_train = 0, time.time()
    while time.time() - t_train < args.minutes * 60:
        # one-frame batches train the first-frame path (an image is encoded alone), five-frame
        # batches the causal temporal path; the 96x96 crops keep a CPU step near a second.
        frames = 1 if step % 4 == 0 else 5
        x, w = random_batch(pool, rng, 8 if frames == 1 else 4, 96, frames)
        post = vae.encode(x).latent_dist
        y = vae.decode(post.sample()).sample
        rec = (((y - x).abs() + (y - x).pow(2)) * w).mean() / w.mean()
        kl = post.kl().mean() / x[0].numel()
        loss = rec + 1e-4 * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        if step % 20 == 0:
            psnr = 10 * torch.log10(4.0 / (y - x).pow(2).mean().clamp_min(1e-10))
            print(f"step {step} t={time.time() - t_train:.0f}s frames={frames} rec={rec.item():.4f} "
                  f"kl={kl.item():.3f} psnr={psnr.item():.1f}", flush=True)
        if step % 200 == 0 and step:
            vae.save_pretrained(os.path.join(args.out, "vae"))
        step += 1
    vae.save_pretrained(os.path.join(args.out, "vae"))
    log = os.path.join(args.out, "vae-train.json")
    runs = json.load(open(log)) if args.resume and os.path.exists(log) else []
    runs = runs if isinstance(runs, list) else [runs]
    runs.append({"steps": step, "seconds": round(time.time() - t_train), "threads": args.threads, "lr": args.lr})
    json.dump(runs, open(log, "w"), indent=1)
    print(f"done: {step} steps in {time.time() - t_train:.0f}s", flush=True)


if __name__ == "__main__":
    main()
