#!/usr/bin/env python3
"""GPU check (issue 19): Wand's Vulkan backend against PyTorch on the same GPU, same weights.

A Wan DiT at the TI2V-5B size (dim 3072 = 24 heads x 128, ffn 14336, 30 layers, in/out 48,
text_dim 4096) with random weights stored in bf16 (diffusers layout, as the published model),
latent [48, F, H/16, W/16] for a 1280x704, 121-frame clip (27,280 tokens), 512 text rows (100 real
+ zero padding), scalar t = 500. The reference output is an fp32 forward of the same (bf16-rounded)
weights on the GPU with TF32 off; each side's relative error is against it.

    python3 Tools/bench/gpu_check.py prepare DIR            # weights (~10 GB), inputs, fp32 reference
    python3 Tools/bench/gpu_check.py torch DIR              # diffusers in bf16 (SDPA): time, rel. error
    python3 Tools/bench/gpu_check.py all DIR --wand WAND    # both sides, then a table

`--geometry tiny` makes a 2-layer, dim-128 model at 64x64x5 instead: it runs anywhere (PyTorch on
the CPU, lavapipe for Vulkan) to check the script itself. Tools/bench/gpu-check.sh sets up the
Vulkan loader on a GPU machine and runs `all`.
"""
import argparse, json, math, os, subprocess, sys, time

GEOMETRIES = {
    "ti2v-5b": dict(config=dict(num_attention_heads=24, attention_head_dim=128, ffn_dim=14336, num_layers=30),
                    size=(704, 1280, 121)),
    "tiny": dict(config=dict(num_attention_heads=2, attention_head_dim=64, ffn_dim=256, num_layers=2),
                 size=(64, 64, 5)),
}
BASE = dict(patch_size=[1, 2, 2], in_channels=48, out_channels=48, text_dim=4096, freq_dim=256,
            cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None,
            added_kv_proj_dim=None, rope_max_seq_len=1024, pos_embed_seq_len=None)
TEXT_ROWS, TEXT_LEN, T = 100, 512, 500.0


def device():
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def sync():
    import torch
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def forward(model, x, context, dtype):
    import torch
    padded = torch.cat([context, context.new_zeros(TEXT_LEN - context.size(0), context.size(1))])
    with torch.no_grad():
        return model(x.unsqueeze(0).to(dtype), torch.tensor([T], device=x.device), padded.unsqueeze(0).to(dtype),
                     return_dict=False)[0][0]


def prepare(d, geometry):
    import torch
    from diffusers import WanTransformer3DModel
    from safetensors.torch import save_file
    g = GEOMETRIES[geometry]
    torch.manual_seed(0)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = device()
    with torch.device(dev):
        model = WanTransformer3DModel(**BASE, **g["config"]).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("scale_shift_table"):
                v = 0.3 * torch.randn(p.shape, device=dev)
            elif "norm" in name and name.endswith("weight"):
                v = 1 + 0.1 * torch.randn(p.shape, device=dev)
            elif name.endswith("bias"):
                v = 0.05 * torch.randn(p.shape, device=dev)
            else:
                v = torch.randn(p.shape, device=dev) / math.sqrt(p[0].numel())
            p.copy_(v.bfloat16().float())   # the reference runs the stored (bf16) values in fp32
    h, w, frames = g["size"]
    x = torch.randn(48, (frames - 1) // 4 + 1, h // 16, w // 16, device=dev)
    context = torch.randn(TEXT_ROWS, BASE["text_dim"], device=dev)
    reference = forward(model, x, context, torch.float32).float()
    model.to(torch.bfloat16).save_pretrained(os.path.join(d, "transformer"), safe_serialization=True,
                                             max_shard_size="100GB")
    save_file({"x": x.cpu(), "t": torch.tensor([T]), "context": context.cpu(), "out": reference.cpu().contiguous()},
              os.path.join(d, "io.safetensors"))
    with open(os.path.join(d, "geometry.json"), "w") as f:
        json.dump({"geometry": geometry, "tokens": x.shape[1] * x.shape[2] // 2 * x.shape[3] // 2,
                   "latent": list(x.shape), "layers": g["config"]["num_layers"]}, f)
    print(f"wrote {d}: {geometry}, latent {list(x.shape)}", flush=True)


def run_torch(d, repeats):
    import torch
    from diffusers import WanTransformer3DModel
    from safetensors.torch import load_file
    dev = device()
    model = WanTransformer3DModel.from_pretrained(os.path.join(d, "transformer"), torch_dtype=torch.bfloat16).to(dev).eval()
    io = load_file(os.path.join(d, "io.safetensors"), device=dev)
    forward(model, io["x"], io["context"], torch.bfloat16)   # warm-up
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = forward(model, io["x"], io["context"], torch.bfloat16)
        sync()
        best = min(best, time.perf_counter() - t0)
    ref = io["out"].float()
    rel = ((out.float() - ref).norm() / ref.norm()).item()
    name = torch.cuda.get_device_name() if dev == "cuda" else "cpu"
    peak = torch.cuda.max_memory_allocated() / 2**20 if dev == "cuda" else 0
    print(json.dumps({"side": "pytorch", "device": f"{name} (torch {torch.__version__}, bf16)", "forward_s": best,
                      "rel_err": rel, "peak_device_mb": peak}))


def table(rows, geometry):
    torch_row = next((r for r in rows if r["side"] == "pytorch"), None)
    print(f"\nDiT forward, {geometry['geometry']} ({geometry['layers']} layers), latent {geometry['latent']}, "
          f"{geometry['tokens']} tokens; rel. error against an fp32 forward of the same weights")
    print(f"{'side':<58} {'forward s':>10} {'rel err':>10} {'vs torch':>9}")
    for r in rows:
        ratio = r["forward_s"] / torch_row["forward_s"] if torch_row else float("nan")
        print(f"{r['device'][:58]:<58} {r['forward_s']:>10.3f} {r['rel_err']:>10.2e} {ratio:>8.2f}x")
        if "first_forward_s" in r:
            print(f"{'  (first forward, weights uploaded: %.1f s; text cached: %.3f s)' % (r['first_forward_s'], r['forward_cached_text_s']):<58}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["prepare", "torch", "all"])
    ap.add_argument("dir")
    ap.add_argument("--geometry", choices=sorted(GEOMETRIES), default="ti2v-5b")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--wand", default=os.environ.get("WAND", ".build/release/wand"))
    ap.add_argument("--precisions", default="f16", help="comma-separated Vulkan precisions to run: f16, f32")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    if a.mode == "prepare":
        prepare(a.dir, a.geometry)
        return
    if a.mode == "torch":
        run_torch(a.dir, a.repeats)
        return
    if not os.path.exists(os.path.join(a.dir, "io.safetensors")):
        prepare(a.dir, a.geometry)
    with open(os.path.join(a.dir, "geometry.json")) as f:
        geometry = json.load(f)
    rows = []
    py = subprocess.run([sys.executable, __file__, "torch", a.dir, "--repeats", str(a.repeats)],
                        capture_output=True, text=True)
    if py.returncode == 0:
        rows.append(json.loads(py.stdout.strip().splitlines()[-1]))
    else:
        print("pytorch side failed:\n" + py.stderr[-4000:], file=sys.stderr)
    for precision in [p for p in a.precisions.split(",") if p]:
        sw = subprocess.run([a.wand, "bench", "dit", a.dir, "--device", "vulkan", "--precision", precision,
                             "--repeats", str(a.repeats), "--json"], capture_output=True, text=True)
        if sw.returncode == 0:
            rows.append(json.loads(sw.stdout.strip().splitlines()[-1]))
        else:
            print(f"wand vulkan {precision} failed:\n" + (sw.stderr + sw.stdout)[-4000:], file=sys.stderr)
    for r in rows:
        print(json.dumps(r))
    table(rows, geometry)


if __name__ == "__main__":
    main()
