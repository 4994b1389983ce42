#!/usr/bin/env python3
"""FastVideo's DMD sampling (FastWan checkpoints) on the tiny pipeline folders: the reference for
Wand's `fastwan-3step` recipe.

FastVideo is not on PyPI in a form that installs here, so this reads a checkout of it
(github hao-ai-lab/FastVideo, checked at 2f3d407) and imports its two pure pieces by file:
`FlowMatchEulerDiscreteScheduler` (the shift-8 table the DMD stage looks sigmas up in, and its
`add_noise`) and `models/utils.py: pred_noise_to_pred_video`. The loop below is
`DmdDenoisingStage.forward` (fastvideo/pipelines/stages/denoising.py) for one prompt and no
image latent, with `LatentPreparationStage(use_btchw_layout=True)`'s noise: latents are
[B, T, C, H, W] and the fresh noise of every step is drawn in that shape from the same CPU
generator. FastVideo runs its own Wan DiT on the diffusers weight names; diffusers'
WanTransformer3DModel stands in for it (Wand matches it to 1e-6 elsewhere). Text embeddings are
diffusers' encode_prompt, which pads as FastVideo's t5_postprocess_text does (trim, zeros to 512).
FastVideo computes in bf16 on a GPU (its autocast is CUDA-only); this runs in f32 on the CPU.

    ~/refenv/bin/python Tools/reference/dmd_fixtures.py --fastvideo /path/to/FastVideo
"""
import argparse, importlib.util, json, logging, os, sys, types

# The refenv's torchvision wheel does not load with its torch, and transformers imports it when
# present; nothing here needs it.
sys.modules.setdefault("torchvision", None)
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_cpu  # noqa: F401
from diffusers.pipelines.wan.pipeline_wan import WanPipeline  # imported before the stubs below
from transformers import UMT5EncoderModel  # noqa: F401
from diffusers.utils.torch_utils import randn_tensor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(FIX, "fewstep")


def load_fastvideo(root):
    """FastVideo's scheduler and pred_noise_to_pred_video, with stubs for the imports they do not use."""
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m
    for name in ("fastvideo", "fastvideo.models", "fastvideo.models.schedulers"):
        module(name, __path__=[])
    module("fastvideo.logger", init_logger=logging.getLogger)
    # Only the beta-sigma option uses scipy; stubbed while the scheduler file imports, then removed.
    stubs = [n for n in ("scipy", "scipy.stats") if n not in sys.modules]
    module("scipy", stats=module("scipy.stats"))

    def from_file(name, rel):
        spec = importlib.util.spec_from_file_location(name, os.path.join(root, rel))
        m = importlib.util.module_from_spec(spec)
        sys.modules[name] = m
        spec.loader.exec_module(m)
        return m
    from_file("fastvideo.models.schedulers.base", "fastvideo/models/schedulers/base.py")
    sched = from_file("fastvideo.models.schedulers.scheduling_flow_match_euler_discrete",
                      "fastvideo/models/schedulers/scheduling_flow_match_euler_discrete.py")
    utils = from_file("fastvideo.models.utils", "fastvideo/models/utils.py")
    for n in stubs:
        del sys.modules[n]
    return sched.FlowMatchEulerDiscreteScheduler, utils.pred_noise_to_pred_video


def dmd_run(pipe, scheduler, pred_noise_to_pred_video, prompt, seed, height, width, frames, steps):
    vae_scale = pipe.vae_scale_factor_spatial
    latent_frames = (frames - 1) // pipe.vae_scale_factor_temporal + 1
    channels = pipe.transformer.config.in_channels
    generator = [torch.Generator("cpu").manual_seed(seed)]
    prompt_embeds, _ = pipe.encode_prompt(prompt, do_classifier_free_guidance=False, max_sequence_length=512)
    shape = (1, latent_frames, channels, height // vae_scale, width // vae_scale)
    latents = randn_tensor(shape, generator=generator, device=torch.device("cpu"), dtype=torch.float32)
    initial = latents.permute(0, 2, 1, 3, 4)[0].clone()
    video_raw_latent_shape = latents.shape
    timesteps = torch.tensor(steps, dtype=torch.long)
    for i, t in enumerate(timesteps):
        noise_latents = latents.clone()
        latent_model_input = latents
        t_expand = t.repeat(latent_model_input.shape[0])
        pred_noise = pipe.transformer(latent_model_input.permute(0, 2, 1, 3, 4), t_expand, prompt_embeds,
                                      return_dict=False)[0].permute(0, 2, 1, 3, 4)
        pred_video = pred_noise_to_pred_video(pred_noise=pred_noise.flatten(0, 1),
                                              noise_input_latent=noise_latents.flatten(0, 1),
                                              timestep=t_expand, scheduler=scheduler).unflatten(0, pred_noise.shape[:2])
        if i < len(timesteps) - 1:
            next_timestep = timesteps[i + 1] * torch.ones([1], dtype=torch.long)
            noise = torch.randn(video_raw_latent_shape, dtype=pred_video.dtype, generator=generator[0])
            latents = scheduler.add_noise(pred_video.flatten(0, 1), noise.flatten(0, 1),
                                          next_timestep).unflatten(0, pred_video.shape[:2])
        else:
            latents = pred_video
    return initial, latents.permute(0, 2, 1, 3, 4)[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fastvideo", required=True, help="a FastVideo checkout (github hao-ai-lab/FastVideo)")
    args = ap.parse_args()
    Scheduler, pred_noise_to_pred_video = load_fastvideo(args.fastvideo)
    scheduler = Scheduler(shift=8.0)  # DmdDenoisingStage.__init__
    steps = [1000, 757, 522]  # FastWan2_1_T2V_480P_Config / FastWan2_2_TI2V_5B_Config.dmd_denoising_steps
    sigmas = [float(scheduler.sigmas[torch.argmin((scheduler.timesteps - t).abs())]) for t in steps]
    os.makedirs(OUT, exist_ok=True)
    prompt = "a red circle moves left on a blue background"
    cases, tensors = [], {}
    for name, folder, height, width, frames, seed in [("fastwan-t2v", "tiny-t2v", 32, 48, 9, 7),
                                                     ("fastwan-ti2v", "tiny-ti2v", 64, 96, 9, 8)]:
        pipe = WanPipeline.from_pretrained(os.path.join(FIX, "pipelines", "models", folder), torch_dtype=torch.float32)
        with torch.no_grad():
            initial, final = dmd_run(pipe, scheduler, pred_noise_to_pred_video, prompt, seed, height, width, frames, steps)
        cases.append({"name": name, "model": folder, "prompt": prompt, "seed": seed, "height": height, "width": width,
                      "frames": frames, "timesteps": steps, "shape": list(final.shape)})
        tensors[f"{name}.initial"] = initial.contiguous()
        tensors[f"{name}.final"] = final.contiguous()
        print(name, tuple(final.shape), "|z|", float(final.abs().mean()))
    save_file(tensors, os.path.join(OUT, "dmd.safetensors"))
    with open(os.path.join(OUT, "dmd.json"), "w") as f:
        json.dump({"source": "FastVideo 2f3d407 DmdDenoisingStage, Tools/reference/dmd_fixtures.py",
                   "table_shift": 8.0, "timesteps": steps, "sigmas": sigmas, "cases": cases}, f, indent=1)
    print("sigmas", sigmas)


if __name__ == "__main__":
    main()
