#!/usr/bin/env python3
"""A LoRA on Wan2.2-Animate, as LightX2V and ComfyUI users run it (a Wan2.1-I2V 4-step distill
LoRA, 4 Euler steps on the Lightning grid at shift 5, no CFG; shared/reference/next-modes.md
B.6): diffusers' WanAnimatePipeline with `load_lora_weights` on the tiny Animate folder of
animate_fixtures.py, over the same driving videos, two overlapping segments.

The LoRA is random, in ComfyUI's native layout (`diffusion_model.blocks.N.<module>.lora_down/
lora_up/alpha`), and covers what the Wan2.1-I2V LoRAs cover: self- and cross-attention
including the image keys `k_img`/`v_img`, and the FFN. Writes Tests/Fixtures/lora/
animate_comfy.safetensors and animate.safetensors (each segment's latents as the VAE decoder
gets them) with animate.json.

    ~/refenv/bin/python Tools/reference/animate_lora_fixture.py
"""
import json, os, sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from animate_common import FIX, MODEL, u8_image  # noqa: E402  (sets up the CPU shims first)
from animate_fixture_pipeline import NEGATIVE, PIPE_H, PIPE_W, PROMPT, driving_videos  # noqa: E402

OUT = os.path.join(FIX, "lora")
DIM, FFN, LAYERS = 32, 48, 4  # the tiny Animate DiT (models/tiny-animate/transformer/config.json)
STEPS, SHIFT, SEED, SEGMENT, FRAMES, REFERT = 4, 5.0, 11, 9, 13, 1


def comfy_animate_lora(path, seed, rank=4, alpha=8.0, gain=0.5):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    modules = {f"blocks.{i}.{a}.{p}": (DIM, DIM) for i in range(LAYERS) for a in ("self_attn", "cross_attn") for p in "qkvo"}
    modules.update({f"blocks.{i}.cross_attn.{p}": (DIM, DIM) for i in range(LAYERS) for p in ("k_img", "v_img")})
    modules.update({f"blocks.{i}.ffn.0": (FFN, DIM) for i in range(LAYERS)})
    modules.update({f"blocks.{i}.ffn.2": (DIM, FFN) for i in range(LAYERS)})
    for name, (o, i) in modules.items():
        sd[f"diffusion_model.{name}.lora_down.weight"] = torch.randn(rank, i, generator=g) / i ** 0.5
        sd[f"diffusion_model.{name}.lora_up.weight"] = torch.randn(o, rank, generator=g) * gain / rank ** 0.5
        sd[f"diffusion_model.{name}.alpha"] = torch.tensor(alpha)
    save_file({k: v.contiguous() for k, v in sd.items()}, path)


def lightning_euler():
    """diffusers' Euler step on the Wan2.2-Lightning grid (t = linspace(1000, 0, N+1), shifted in
    float32), which a pipeline cannot ask for through set_timesteps(num_inference_steps)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    class LightningEuler(FlowMatchEulerDiscreteScheduler):
        def set_timesteps(self, num_inference_steps=None, device=None, **kwargs):
            t = torch.from_numpy(np.linspace(1000, 0, num_inference_steps + 1, dtype=np.float32))
            s = t / 1000
            s = SHIFT * s / (1 + (SHIFT - 1) * s)
            super().set_timesteps(sigmas=s[:-1].tolist(), timesteps=(s * 1000)[:-1].tolist(), device=device)

    return LightningEuler(num_train_timesteps=1000, shift=1.0)


def main():
    from PIL import Image
    from diffusers import WanAnimatePipeline
    os.makedirs(OUT, exist_ok=True)
    lora = os.path.join(OUT, "animate_comfy.safetensors")
    comfy_animate_lora(lora, 31)
    pipe = WanAnimatePipeline.from_pretrained(MODEL, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = lightning_euler()
    pipe.load_lora_weights(lora, adapter_name="distill")
    pipe.transformer.set_adapters(["distill"], weights=[1.0])
    pose, face, _, _ = driving_videos(19, 51)  # the pipeline fixture's videos (pipeline.safetensors)
    ref = u8_image(36, 40, 60 + SEED)
    captured = []
    decode = pipe.vae.decode

    def spy(z, *a, **k):
        captured.append(z.detach().clone())
        return decode(z, *a, **k)

    pipe.vae.decode = spy
    pil = lambda a: [Image.fromarray(x) for x in a[:FRAMES]]
    with torch.no_grad():
        pipe(image=Image.fromarray(ref), pose_video=pil(pose), face_video=pil(face), prompt=PROMPT, negative_prompt=NEGATIVE,
             height=PIPE_H, width=PIPE_W, segment_frame_length=SEGMENT, num_inference_steps=STEPS, mode="animate",
             prev_segment_conditioning_frames=REFERT, guidance_scale=1.0, generator=torch.Generator("cpu").manual_seed(SEED),
             output_type="np", max_sequence_length=512)
    tensors = {f"segment{i}.decoder_input": z[0].float().contiguous() for i, z in enumerate(captured)}
    tensors["reference"] = torch.from_numpy(ref)
    save_file(tensors, os.path.join(OUT, "animate.safetensors"))
    case = {"generator": "Tools/reference/animate_lora_fixture.py", "torch": torch.__version__, "prompt": PROMPT,
            "negative_prompt": NEGATIVE, "lora": "animate_comfy.safetensors", "strength": 1.0, "steps": STEPS, "shift": SHIFT,
            "guidance": 1.0, "sampler": "euler", "schedule": "lightning", "seed": SEED, "frames": FRAMES,
            "segment_frames": SEGMENT, "refert_num": REFERT, "height": PIPE_H, "width": PIPE_W, "segments": len(captured),
            "timesteps": [float(t) for t in pipe.scheduler.timesteps]}
    with open(os.path.join(OUT, "animate.json"), "w") as f:
        json.dump(case, f, indent=1)
    print("segments", len(captured), tuple(captured[0].shape), "|z|", float(captured[-1].abs().mean()), case["timesteps"])


if __name__ == "__main__":
    main()
