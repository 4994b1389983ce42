#!/usr/bin/env python3
"""VAE decode benchmark: official PyTorch Wan VAE vs `wand bench vae`, same weights, sizes, threads.

Run with ~/refenv/bin/python from the package root, after `swift build -c release`:
    ~/refenv/bin/python Tools/bench/vae.py --version 2.1 --threads 2 --latent-size 8 8 --frames 5 9 17

Builds the official WanVAE_ at its published config (2.1: dim 96, z 16; 2.2: dim 160 / dec 256, z 48)
with seeded random weights (--dim overrides the width for a quicker run), saves it with torch.save
as the official .pth is, times the official cached decode loop (one latent frame per call, as WanVAE_.decode runs it) on seeded
latents, records peak RSS per frame count (VmHWM, reset through /proc/self/clear_refs), then runs
`wand bench vae --tsv` on the same file and prints both side by side.
"""
import argparse, os, subprocess, sys, time, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import wan_cpu  # noqa: F401
import torch
from wan.modules import vae2_1, vae2_2


def peak_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else float("nan")


def decode_timed(model, version, z):
    """The official WanVAE_.decode loop (z already de-normalized: scale = [0, 1]), with a clock
    around each latent frame; the machine is shared, so the median per-frame time is the steady figure."""
    model.clear_cache()
    t0 = time.perf_counter()
    x = model.conv2(z)
    outs, per_frame = [], []
    for i in range(z.shape[2]):
        t1 = time.perf_counter()
        model._conv_idx = [0]
        kw = {"first_chunk": True} if (version == "2.2" and i == 0) else {}
        outs.append(model.decoder(x[:, :, i:i + 1], feat_cache=model._feat_map, feat_idx=model._conv_idx, **kw))
        if i > 0:
            per_frame.append(time.perf_counter() - t1)
    out = torch.cat(outs, 2)
    if version == "2.2":
        out = vae2_2.unpatchify(out, patch_size=2)
    out.clamp_(-1, 1)
    model.clear_cache()
    return time.perf_counter() - t0, per_frame


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", choices=["2.1", "2.2"], default="2.1")
    ap.add_argument("--dim", type=int, default=None, help="encoder/decoder base width (default: published)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--latent-size", type=int, nargs=2, default=[8, 8])
    ap.add_argument("--frames", type=int, nargs="+", default=[5, 9, 17])
    ap.add_argument("--wand", default=".build/release/wand")
    ap.add_argument("--keep", default=None, help="write the weights here instead of a temp file")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    common = dict(dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[], temperal_downsample=[False, True, True])
    if a.version == "2.1":
        model = vae2_1.WanVAE_(dim=a.dim or 96, z_dim=16, **common)
        z_dim = 16
    else:
        model = vae2_2.WanVAE_(dim=a.dim or 160, dec_dim=a.dim or 256, z_dim=48, **common)
        z_dim = 48
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("gamma"):
                p.fill_(1.0)
            elif n.endswith("bias"):
                p.normal_(0, 0.02)
            else:
                p.normal_(0, (1.0 / p[0].numel()) ** 0.5)
    model.eval()
    path = a.keep or os.path.join(tempfile.gettempdir(), f"wand_bench_vae{a.version}.pth")
    torch.save(model.state_dict(), path)
    scale = [torch.zeros(z_dim), torch.ones(z_dim)]
    h, w = a.latent_size
    torch_rows = {}
    with torch.no_grad():
        decode_timed(model, a.version, torch.zeros(1, z_dim, 2, h, w))   # warm-up: thread pool, allocator
        for f in a.frames:
            z = torch.randn(1, z_dim, f, h, w, generator=torch.Generator().manual_seed(0))
            reset_peak()
            total, per_frame = decode_timed(model, a.version, z)
            torch_rows[f] = (total, median(per_frame), peak_rss())
    cmd = [a.wand, "bench", "vae", "--weights", path, "--threads", str(a.threads),
           "--latent-size", str(h), str(w), "--latent-frames", *map(str, a.frames), "--tsv"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    wand_rows = {}
    for line in out.strip().splitlines():
        f, s, med, rss = line.split("\t")
        wand_rows[int(f)] = (float(s), float(med), int(rss))
    if not a.keep:
        os.remove(path)
    print(f"VAE {a.version} decode, {a.threads} threads, latent {h}x{w} (video {h * (8 if a.version == '2.1' else 16)}x"
          f"{w * (8 if a.version == '2.1' else 16)}), torch {torch.__version__}")
    print("total: whole decode; s/latent: median time of one latent frame after the first (robust to load bursts)")
    print(f"{'latents':>8} {'frames':>7} {'torch s':>9} {'wand s':>9} {'torch s/lat':>12} {'wand s/lat':>11} {'ratio':>6} "
          f"{'torch RSS MiB':>14} {'wand RSS MiB':>13}")
    for f in a.frames:
        ts, tm, tr = torch_rows[f]
        ws, wm, wr = wand_rows[f]
        print(f"{f:>8} {4 * (f - 1) + 1:>7} {ts:>9.3f} {ws:>9.3f} {tm:>12.3f} {wm:>11.3f} {wm / tm:>6.2f} "
              f"{tr / 2**20:>14.1f} {wr / 2**20:>13.1f}")


if __name__ == "__main__":
    main()
