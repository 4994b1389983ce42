#!/usr/bin/env python3
"""Time per denoising step: diffusers (PyTorch, CPU) against `wand bench step`, same machine,
same threads, same weights.

A step is what WanPipeline's loop does per timestep: the transformer on the conditional and on
the unconditional text, classifier-free guidance (scale 5) and a UniPC (flow sigmas, shift 5)
scheduler step. The model is Tools/bench/dit.py's mid-size DiT (dim 1536, 4 layers, 1,536 tokens,
512 text rows). Both sides run --steps steps; the first is a warm-up and the mean of the others is
reported.

    ~/refenv/bin/python Tools/bench/step.py DIR --threads 2 --steps 4 --wand .build/release/wand
"""
import argparse, json, os, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit  # noqa: E402  (the shared model, inputs and prepare step)


def run_torch(d, threads, steps):
    import torch
    from diffusers import UniPCMultistepScheduler, WanTransformer3DModel
    from safetensors.torch import load_file
    torch.set_num_threads(threads)
    model = WanTransformer3DModel.from_pretrained(os.path.join(d, "transformer"), torch_dtype=torch.float32).eval()
    io = load_file(os.path.join(d, "io.safetensors"))
    pad = lambda c: torch.cat([c, c.new_zeros(dit.TEXT_LEN - c.size(0), c.size(1))]).unsqueeze(0)
    cond, uncond = pad(io["context"]), pad(0.5 * io["context"][:20])
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0,
                                    num_train_timesteps=1000)
    sched.set_timesteps(steps)
    latents = io["x"].unsqueeze(0).clone()
    times = []
    with torch.no_grad():
        for t in sched.timesteps:
            t0 = time.perf_counter()
            ts = t.expand(1)
            v_c = model(latents, ts, cond, return_dict=False)[0]
            v_u = model(latents, ts, uncond, return_dict=False)[0]
            v = v_u + 5.0 * (v_c - v_u)
            latents = sched.step(v, t, latents, return_dict=False)[0]
            times.append(time.perf_counter() - t0)
    return {"side": "pytorch", "threads": threads, "steps": steps, "step_s": sum(times[1:]) / max(1, len(times) - 1),
            "first_step_s": times[0], "latents": latents[0].flatten()[:8].tolist()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--wand", default=".build/release/wand")
    ap.add_argument("--torch-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    if a.torch_only:
        print(json.dumps(run_torch(a.dir, a.threads, a.steps)))
        return
    if not os.path.exists(os.path.join(a.dir, "io.safetensors")):
        dit.prepare(a.dir)
    py = subprocess.run([sys.executable, __file__, a.dir, "--threads", str(a.threads), "--steps", str(a.steps),
                         "--torch-only"], check=True, capture_output=True, text=True)
    sw = subprocess.run([a.wand, "bench", "step", a.dir, "--threads", str(a.threads), "--steps", str(a.steps), "--json"],
                        check=True, capture_output=True, text=True)
    p = json.loads(py.stdout.strip().splitlines()[-1])
    s = json.loads(sw.stdout.strip().splitlines()[-1])
    print(json.dumps(p))
    print(json.dumps(s))
    print(f"time per step: wand {s['step_s']:.2f} s, pytorch {p['step_s']:.2f} s, ratio {s['step_s'] / p['step_s']:.3f}")


if __name__ == "__main__":
    main()
