"""Fixture for VAETrainedTilingTests: latents of a 512x320, 5-frame clip encoded by the demo model's
trained Wan-VAE 2.2 (Samples/models/wand-demo/vae) with diffusers' AutoencoderKLWan, diffusers'
untiled decode of them (pooled, and a crop at full resolution), and the seam error of diffusers' own
tiled decode on them (PSNR of tiled against untiled), the bar our tiling is held to.

    ~/refenv/bin/python Tools/reference/vae_tiling_fixture.py
"""
import json
import math
import os

import numpy as np
import torch
from diffusers import AutoencoderKLWan
from safetensors.torch import save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
OUT = os.path.join(ROOT, "Tests/Fixtures/vae-tiling")


def clip(frames=5, h=320, w=512):
    """Four quadrants, each a shape on a background the demo VAE was trained on; the shapes move."""
    backgrounds = [[15, 15, 15], [120, 120, 120], [30, 50, 120], [110, 70, 40]]
    colours = [[220, 40, 40], [240, 220, 40], [245, 245, 245], [40, 190, 60]]
    y, x = np.mgrid[0:h, 0:w]
    quadrant = (y // 160) * 2 + x // 256
    video = np.zeros((3, frames, h, w), np.float32)
    for f in range(frames):
        img = np.zeros((h, w, 3), np.float32)
        for k in range(4):
            m = quadrant == k
            img[m] = backgrounds[k]
            if k % 3 == 0:  # striped
                img[m & (((y % 160) // 32) % 2 == 1)] = np.array(backgrounds[k]) * 0.55 + 90
            dx = x + 0.5 - ((x // 256) * 256 + 90 + 12 * f)
            dy = y + 0.5 - ((y // 160) * 160 + 70 + 6 * f)
            inside = [dx * dx + dy * dy <= 26 * 26,
                      (abs(dx) <= 22) & (abs(dy) <= 22),
                      (dy >= -40) & (dy <= 20) & (abs(dx) <= (dy + 40) / 60 * 35),
                      dx * dx + dy * dy <= (14 + 4 * f) ** 2][k]
            img[m & inside] = colours[k]
        video[:, f] = img.transpose(2, 0, 1) / 127.5 - 1
    return torch.from_numpy(video)[None]


def psnr(a, b):
    return 10 * math.log10(4 / ((a - b) ** 2).mean().item())  # range [-1, 1]: peak-to-peak 2


def main():
    torch.set_num_threads(2)
    vae = AutoencoderKLWan.from_pretrained(os.path.join(ROOT, "Samples/models/wand-demo/vae")).float().eval()
    with torch.no_grad():
        z = vae.encode(clip()).latent_dist.mode().half().float()  # stored in f16: decode what is stored
        whole = vae.decode(z).sample.clamp(-1, 1)
        bars = {}
        for tile, stride in [(256, 192), (192, 128)]:
            vae.enable_tiling(tile_sample_min_height=tile, tile_sample_min_width=tile,
                              tile_sample_stride_height=stride, tile_sample_stride_width=stride)
            tiled = vae.decode(z).sample.clamp(-1, 1)
            vae.disable_tiling()
            # in latent pixels, as VAETiling counts: tile 256 px = 16, overlap (256 - 192) px = 4
            bars[f"{tile // 16}/{(tile - stride) // 16}"] = round(psnr(tiled, whole), 2)
    os.makedirs(OUT, exist_ok=True)
    # the encoder's output in the VAE's own units (decode denormalises nothing: the diffusers VAE
    # works on raw latents; the test feeds them to the decoder the same way)
    # diffusers' own untiled decode, small: every frame average-pooled 8x8, and a full-resolution
    # crop across the quadrant borders (rows 128..191, columns 208..303), in f16 (~77 dB of rounding)
    pooled = torch.nn.functional.avg_pool2d(whole[0].transpose(0, 1), 8).transpose(0, 1)
    crop = whole[0][:, :, 128:192, 208:304]
    save_file({"latents": z[0].half().contiguous(), "decoded_pooled8": pooled.half().contiguous(),
               "decoded_crop": crop.half().contiguous()}, os.path.join(OUT, "latents.safetensors"))
    json.dump({"diffusers_tiled_psnr_db": bars, "shape": list(z[0].shape)},
              open(os.path.join(OUT, "reference.json"), "w"), indent=1)
    print(bars)


if __name__ == "__main__":
    main()
