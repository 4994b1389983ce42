#!/usr/bin/env python3
"""One Wan DiT forward: diffusers WanTransformer3DModel (PyTorch, CPU) against `wand bench dit`.

Mid-size config: dim 1536 (12 heads x 128), ffn 8960, 4 layers, in/out 16, text_dim 4096,
latent [16, 6, 32, 32] -> 1,536 tokens, 512 text rows (100 real + zero padding), scalar t = 500.
Float32 weights, random N(0, 1/fan_in), written once as a diffusers-layout folder.

    ~/refenv/bin/python Tools/bench/dit.py prepare DIR          # weights, inputs, reference output
    ~/refenv/bin/python Tools/bench/dit.py torch DIR --threads N  # time + peak RSS of PyTorch
    .build/release/wand bench dit DIR --threads N                 # the same for Wand
    ~/refenv/bin/python Tools/bench/dit.py all DIR --threads N --wand .build/release/wand

Each side runs in its own process (peak RSS = ru_maxrss of that process): load, one warm-up
forward, then the best of --repeats timed forwards.
"""
import argparse, json, math, os, resource, subprocess, sys, time

CONFIG = dict(patch_size=[1, 2, 2], num_attention_heads=12, attention_head_dim=128, in_channels=16,
              out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=4,
              cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None,
              added_kv_proj_dim=None, rope_max_seq_len=1024, pos_embed_seq_len=None)
LATENT = (16, 6, 32, 32)
TEXT_ROWS, TEXT_LEN, T = 100, 512, 500.0


def prepare(d):
    import torch
    from diffusers import WanTransformer3DModel
    from safetensors.torch import save_file
    torch.manual_seed(0)
    model = WanTransformer3DModel(**CONFIG).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("scale_shift_table"):
                p.copy_(0.3 * torch.randn(p.shape))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape))
            else:
                p.copy_(torch.randn(p.shape) / math.sqrt(p[0].numel()))
    tdir = os.path.join(d, "transformer")
    model.save_pretrained(tdir, safe_serialization=True, max_shard_size="100GB")
    x = torch.randn(*LATENT)
    context = torch.randn(TEXT_ROWS, CONFIG["text_dim"])
    out = forward(model, x, context)
    save_file({"x": x, "t": torch.tensor([T]), "context": context, "out": out.contiguous()},
              os.path.join(d, "io.safetensors"))
    print(f"wrote {d}")


def forward(model, x, context):
    import torch
    padded = torch.cat([context, context.new_zeros(TEXT_LEN - context.size(0), context.size(1))])
    with torch.no_grad():
        return model(x.unsqueeze(0), torch.tensor([T]), padded.unsqueeze(0), return_dict=False)[0][0]


def run_torch(d, threads, repeats):
    import torch
    from diffusers import WanTransformer3DModel
    from safetensors.torch import load_file
    torch.set_num_threads(threads)
    model = WanTransformer3DModel.from_pretrained(os.path.join(d, "transformer"), torch_dtype=torch.float32).eval()
    io = load_file(os.path.join(d, "io.safetensors"))
    forward(model, io["x"], io["context"])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = forward(model, io["x"], io["context"])
        best = min(best, time.perf_counter() - t0)
    rel = ((out - io["out"]).norm() / io["out"].norm()).item()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"side": "pytorch", "threads": threads, "forward_s": best, "peak_rss_mb": rss, "rel_err": rel}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["prepare", "torch", "all"])
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--wand", default=".build/release/wand")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    if a.mode == "prepare":
        prepare(a.dir)
    elif a.mode == "torch":
        run_torch(a.dir, a.threads, a.repeats)
    else:
        if not os.path.exists(os.path.join(a.dir, "io.safetensors")):
            prepare(a.dir)
        py = subprocess.run([sys.executable, __file__, "torch", a.dir, "--threads", str(a.threads),
                             "--repeats", str(a.repeats)], check=True, capture_output=True, text=True)
        sw = subprocess.run([a.wand, "bench", "dit", a.dir, "--threads", str(a.threads), "--repeats",
                             str(a.repeats), "--json"], check=True, capture_output=True, text=True)
        p = json.loads(py.stdout.strip().splitlines()[-1])
        s = json.loads(sw.stdout.strip().splitlines()[-1])
        print(json.dumps(p))
        print(json.dumps(s))
        print(f"time ratio wand/pytorch {s['forward_s'] / p['forward_s']:.3f}, "
              f"peak RSS ratio {s['peak_rss_mb'] / p['peak_rss_mb']:.3f}")


if __name__ == "__main__":
    main()
