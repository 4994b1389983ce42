#!/usr/bin/env python3
"""Reference runs of diffusers' LoRA loading on the tiny random Wan pipelines.

Writes small random LoRA files in each published layout and runs the diffusers WanPipeline on the
tiny models of Tests/Fixtures/pipelines/models (made by pipeline_fixtures.py; their weights are
bf16 values, computed here in f32 like there), with the LoRAs loaded by
`pipe.load_lora_weights(...)` (`load_into_transformer_2=True` for the low-noise expert) and their
strengths set with `set_adapters`. Records the final latents (the VAE's input) per case.

  peft-t2v       diffusers/PEFT keys (transformer.blocks.N.attn1.to_q.lora_A.weight, lora_B.bias)
                 with lora_adapter_metadata (r 4, lora_alpha 8, a rank_pattern/alpha_pattern module)
  comfy-t2v      ComfyUI/Kohya native keys (diffusion_model.blocks.N.self_attn.q.lora_down.weight)
                 with .alpha, .diff_b bias deltas, head.head.diff, time_projection / text_embedding
                 LoRAs, zero norm .diff keys (diffusers drops those; they are zero in real files)
  kohya-t2v      musubi-tuner keys (lora_unet_blocks_N_self_attn_q.lora_up.weight + .alpha), bf16
  a14b-experts   two experts: one LoRA into transformer (high), one into transformer_2 (low), a
                 third into both, each with its own strength; CFG 4 / 3, UniPC 8 steps
  a14b-lightning two experts, one LoRA each, the Wan2.2-Lightning 4-step recipe: Euler on
                 sigma = shift(linspace(1000, 0, 5)/1000) with shift 5, timesteps 1000*sigma
                 (floats), guidance 1 on both experts (no unconditional pass)

    ~/refenv/bin/python Tools/reference/lora_fixtures.py
"""
import json, os, shutil, sys

# The refenv's torchvision wheel does not match its torch (torchvision::nms is missing), and
# transformers imports it when present; nothing here needs it.
sys.modules.setdefault("torchvision", None)
import numpy as np
import torch
from safetensors.torch import save_file
from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler, WanPipeline

torch.set_num_threads(1)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
MODELS = os.path.join(FIX, "pipelines", "models")
OUT = os.path.join(FIX, "lora")
PROMPT = "a red circle moves left on a blue background"
NEGATIVE = "blurry, static"
DIM, FFN, TEXT, OUT_CH, LAYERS = 64, 96, 32, 16, 2

OFFICIAL_LINEARS = {  # official module -> (out, in)
    **{f"blocks.{i}.{a}.{p}": (DIM, DIM) for i in range(LAYERS) for a in ("self_attn", "cross_attn") for p in "qkvo"},
    **{f"blocks.{i}.ffn.0": (FFN, DIM) for i in range(LAYERS)},
    **{f"blocks.{i}.ffn.2": (DIM, FFN) for i in range(LAYERS)},
}
DIFFUSERS_NAME = {"self_attn": "attn1", "cross_attn": "attn2", "q": "to_q", "k": "to_k", "v": "to_v", "o": "to_out.0"}


def diffusers_module(official):
    p = official.split(".")
    if p[2] == "ffn":
        return f"blocks.{p[1]}.ffn." + ("net.0.proj" if p[3] == "0" else "net.2")
    return f"blocks.{p[1]}.{DIFFUSERS_NAME[p[2]]}.{DIFFUSERS_NAME[p[3]]}"


def pair(g, out, inp, rank, gain=0.3):
    """Random A and B with |B·A| about gain/0.9 of the tiny models' |W| per element."""
    down = torch.randn(rank, inp, generator=g) / inp ** 0.5
    up = torch.randn(out, rank, generator=g) * gain / rank ** 0.5
    return down, up


def peft_lora(path, seed):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    odd = "blocks.1.ffn.net.2"  # rank 2, alpha 6 through rank_pattern / alpha_pattern
    for official, (o, i) in OFFICIAL_LINEARS.items():
        m = diffusers_module(official)
        down, up = pair(g, o, i, 2 if m == odd else 4)
        sd[f"{m}.lora_A.weight"], sd[f"{m}.lora_B.weight"] = down, up
        sd[f"{m}.lora_B.bias"] = torch.randn(o, generator=g) * 0.05
    down, up = pair(g, 4 * OUT_CH, DIM, 4)
    sd["proj_out.lora_A.weight"], sd["proj_out.lora_B.weight"] = down, up
    sd["proj_out.lora_B.bias"] = torch.randn(4 * OUT_CH, generator=g) * 0.05
    meta = {"r": 4, "lora_alpha": 8, "rank_pattern": {odd: 2}, "alpha_pattern": {odd: 6},
            "target_modules": sorted({k.rsplit(".lora_", 1)[0] for k in sd}), "lora_bias": True}
    d = os.path.dirname(path)
    WanPipeline.save_lora_weights(d, transformer_lora_layers={k: v.contiguous() for k, v in sd.items()},
                                  weight_name=os.path.basename(path), transformer_lora_adapter_metadata=meta)


def comfy_lora(path, seed, alpha=6.0, extras=True, gain=0.3):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for official, (o, i) in OFFICIAL_LINEARS.items():
        down, up = pair(g, o, i, 4, gain)
        sd[f"diffusion_model.{official}.lora_down.weight"] = down
        sd[f"diffusion_model.{official}.lora_up.weight"] = up
        sd[f"diffusion_model.{official}.alpha"] = torch.tensor(alpha)
        if extras and official.endswith((".q", ".o", "ffn.0")):
            sd[f"diffusion_model.{official}.diff_b"] = torch.randn(o, generator=g) * 0.05
    if extras:
        for i in range(LAYERS):
            sd[f"diffusion_model.blocks.{i}.norm3.diff"] = torch.zeros(DIM)
            sd[f"diffusion_model.blocks.{i}.self_attn.norm_q.diff"] = torch.zeros(DIM)
        sd["diffusion_model.head.head.diff"] = torch.randn(4 * OUT_CH, DIM, generator=g) * 0.05
        sd["diffusion_model.head.head.diff_b"] = torch.randn(4 * OUT_CH, generator=g) * 0.05
        down, up = pair(g, 6 * DIM, DIM, 4)
        sd["diffusion_model.time_projection.1.lora_down.weight"] = down
        sd["diffusion_model.time_projection.1.lora_up.weight"] = up
        sd["diffusion_model.time_projection.1.diff_b"] = torch.randn(6 * DIM, generator=g) * 0.05
        down, up = pair(g, DIM, TEXT, 4)
        sd["diffusion_model.text_embedding.0.lora_down.weight"] = down
        sd["diffusion_model.text_embedding.0.lora_up.weight"] = up
    save_file({k: v.contiguous() for k, v in sd.items()}, path)


def kohya_lora(path, seed):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for official, (o, i) in OFFICIAL_LINEARS.items():
        down, up = pair(g, o, i, 4, gain=1.0)
        name = "lora_unet_" + official.replace(".", "_")
        sd[f"{name}.lora_down.weight"] = down.to(torch.bfloat16)
        sd[f"{name}.lora_up.weight"] = up.to(torch.bfloat16)
        sd[f"{name}.alpha"] = torch.tensor(2.0)  # scale 1/2: diffusers bakes it into A exactly
    save_file({k: v.contiguous() for k, v in sd.items()}, path)


def unipc(shift):
    return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                   flow_shift=shift, num_train_timesteps=1000)


def lightning_schedule(steps, shift):
    """Wan2.2-Lightning wan/utils/fm_solvers_euler.py: get_timesteps + timestep_shift, in float32."""
    t = torch.from_numpy(np.linspace(1000, 0, steps + 1, dtype=np.float32))
    s = t / 1000
    s = shift * s / (1 + (shift - 1) * s)
    return s, s * 1000


class LightningEuler(FlowMatchEulerDiscreteScheduler):
    """diffusers' Euler step (x + (sigma_next - sigma) * v) on the Lightning grid, which WanPipeline
    cannot ask for by itself: it calls set_timesteps(num_inference_steps) only."""

    def set_timesteps(self, num_inference_steps=None, device=None, **kwargs):
        sigmas, timesteps = lightning_schedule(num_inference_steps, 5.0)
        super().set_timesteps(sigmas=sigmas[:-1].tolist(), timesteps=timesteps[:-1].tolist(), device=device)


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    files = {
        "peft": "peft_t2v.safetensors", "comfy": "comfy_t2v.safetensors", "kohya": "kohya_t2v.safetensors",
        "high": "a14b_high.safetensors", "low": "a14b_low.safetensors",
    }
    peft_lora(os.path.join(OUT, files["peft"]), 1)
    comfy_lora(os.path.join(OUT, files["comfy"]), 2)
    kohya_lora(os.path.join(OUT, files["kohya"]), 3)
    comfy_lora(os.path.join(OUT, files["high"]), 4, alpha=4.0, extras=False, gain=0.8)
    comfy_lora(os.path.join(OUT, files["low"]), 5, alpha=4.0, extras=False, gain=0.8)

    cases, tensors = [], {}

    def run(name, folder, loras, scheduler, steps, shift, guidance, guidance_low=None):
        pipe = WanPipeline.from_pretrained(os.path.join(MODELS, folder), torch_dtype=torch.float32)
        pipe.scheduler = scheduler
        per_model = {"transformer": ([], []), "transformer_2": ([], [])}
        for k, (key, strength, expert) in enumerate(loras):
            adapter = f"a{k}"
            targets = {"high": ["transformer"], "low": ["transformer_2"], "both": ["transformer", "transformer_2"]}[expert]
            for t in targets:
                if getattr(pipe, t, None) is None:
                    continue  # one-expert model: "both" is the one transformer
                # low_cpu_mem_usage=False: with lora_bias on, the lora_B bias of a module the file
                # gives no .diff_b would otherwise stay on the meta device; this way it is PEFT's
                # zero init, i.e. that module's bias is not changed.
                pipe.load_lora_weights(os.path.join(OUT, files[key]), adapter_name=adapter,
                                       load_into_transformer_2=(t == "transformer_2"), low_cpu_mem_usage=False)
                per_model[t][0].append(adapter)
                per_model[t][1].append(strength)
        for t, (names, weights) in per_model.items():
            if names:
                getattr(pipe, t).set_adapters(names, weights=weights)
        captured = {}
        decode = pipe.vae.decode

        def spy(z, *a, **kw):
            captured["z"] = z.detach().clone()
            return decode(z, *a, **kw)

        pipe.vae.decode = spy
        extra = {"guidance_scale_2": guidance_low} if guidance_low is not None else {}
        with torch.no_grad():
            pipe(prompt=PROMPT, negative_prompt=NEGATIVE, height=32, width=48, num_frames=9,
                 num_inference_steps=steps, guidance_scale=guidance, generator=torch.Generator("cpu").manual_seed(42),
                 output_type="np", max_sequence_length=512, **extra)
        z = captured["z"][0].float().contiguous()
        tensors[name] = z
        cases.append({"name": name, "model": folder, "steps": steps, "shift": shift, "guidance": guidance,
                      "guidance_low": guidance_low, "seed": 42, "sampler": "euler" if isinstance(scheduler, LightningEuler) else "unipc",
                      "schedule": "lightning" if isinstance(scheduler, LightningEuler) else "model",
                      "timesteps": [float(t) for t in pipe.scheduler.timesteps],
                      "loras": [{"file": files[k], "strength": s, "expert": e} for k, s, e in loras]})
        print(name, tuple(z.shape), "|z|", float(z.abs().mean()), "t", cases[-1]["timesteps"])

    run("peft-t2v", "tiny-t2v", [("peft", 0.8, "both")], unipc(5.0), 6, 5.0, 4.0)
    run("comfy-t2v", "tiny-t2v", [("comfy", 1.0, "both")], unipc(5.0), 6, 5.0, 4.0)
    run("kohya-t2v", "tiny-t2v", [("kohya", 0.6, "both")], unipc(5.0), 6, 5.0, 4.0)
    run("a14b-experts", "tiny-t2v-a14b", [("high", 1.0, "high"), ("low", 0.7, "low"), ("kohya", 0.5, "both")],
        unipc(12.0), 8, 12.0, 4.0, 3.0)
    run("a14b-lightning", "tiny-t2v-a14b", [("high", 1.0, "high"), ("low", 1.0, "low")],
        LightningEuler(num_train_timesteps=1000, shift=1.0), 4, 5.0, 1.0, 1.0)

    save_file(tensors, os.path.join(OUT, "latents.safetensors"))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"generator": "Tools/reference/lora_fixtures.py", "torch": torch.__version__,
                   "prompt": PROMPT, "negative_prompt": NEGATIVE, "cases": cases}, f, indent=1)


main()
