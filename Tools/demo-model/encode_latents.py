"""Phase 2 of the demo model: encode training clips with the (now frozen) VAE encoder into shards of
latents that train_dit.py picks up while it runs. Writes shards of --shard clips each, then DONE.
"""
import argparse
import os
import time

import numpy as np
import torch
from diffusers import AutoencoderKLWan

import dataset


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/wand-demo-train")
    p.add_argument("--clips", type=int, default=1600)
    p.add_argument("--shard", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--vae", help="the VAE folder (default: <out>/vae; an exported model's vae/ to go on training it)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    vae = AutoencoderKLWan.from_pretrained(args.vae or os.path.join(args.out, "vae")).float().eval()
    shard_dir = os.path.join(args.out, "latents")
    os.makedirs(shard_dir, exist_ok=True)
    t0 = time.time()
    for first in range(0, args.clips, args.shard):
        path = os.path.join(shard_dir, f"shard-{first // args.shard:04d}.pt")
        if os.path.exists(path):
            continue
        latents, captions, attrs = [], [], []
        indices = list(range(first, min(first + args.shard, args.clips)))
        for batch in (indices[k:k + 8] for k in range(0, len(indices), 8)):  # batches of 8: 3x faster
            clips = [dataset.clip("train", i) for i in batch]
            x = torch.stack([torch.from_numpy(f).float().div(127.5).sub(1.0).permute(3, 0, 1, 2)
                             for _, _, f in clips])
            with torch.no_grad():
                # the mode of the posterior, as diffusers' pipelines encode a conditioning image
                latents += list(vae.encode(x).latent_dist.mode().to(torch.float32))
            captions += [c[0] for c in clips]
            attrs += [c[1] for c in clips]
        masks = torch.from_numpy(np.stack([dataset.latent_shape_mask("train", i) for i in indices]))
        torch.save({"latents": torch.stack(latents), "captions": captions, "attrs": attrs, "shape_masks": masks},
                   path + ".tmp")
        os.replace(path + ".tmp", path)
        print(f"{path}: {first + len(latents)} clips, {time.time() - t0:.0f}s", flush=True)
    open(os.path.join(shard_dir, "DONE"), "w").close()


if __name__ == "__main__":
    main()
