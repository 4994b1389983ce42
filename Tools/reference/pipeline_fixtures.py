#!/usr/bin/env python3
"""End-to-end reference runs of the diffusers Wan pipelines on tiny random models.

Builds tiny random components (umT5 encoder + the tokenizer trained by tokenizer_fixtures.py,
WanTransformer3DModel experts, Wan2.1 and Wan2.2 AutoencoderKLWan), saves them as diffusers model
folders under Tests/Fixtures/pipelines/models/ (shared components are stored once and linked), runs
WanPipeline (one expert, two experts with boundary_ratio, expand_timesteps for TI2V),
WanImageToVideoPipeline (A14B-style in_dim 36; TI2V expand_timesteps) and WanVideoToVideoPipeline
with UniPC, DPM++ and Euler and a CPU generator, and records per case: the arguments, the initial
noise, the final latents (what goes into the VAE, before de-normalisation) and the decoded frames.

    ~/refenv/bin/python Tools/reference/pipeline_fixtures.py
"""
import json, os, shutil, sys, tempfile

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_cpu  # noqa: F401
from diffusers import (AutoencoderKLWan, DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler,
                       UniPCMultistepScheduler, WanImageToVideoPipeline, WanPipeline,
                       WanTransformer3DModel, WanVideoToVideoPipeline)
from transformers import AutoTokenizer, UMT5Config, UMT5EncoderModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(FIX, "pipelines")
MODELS = os.path.join(OUT, "models")
TEXT_DIM = 32

# Wan2.2 VAE latent statistics (wan/modules/vae2_2.py), needed by its 48-channel config.
def wan22_stats():
    import wan.modules.vae2_2 as v
    src = open(v.__file__).read()
    import re
    block = src[src.index("mean = torch.tensor("):]
    nums = [float(x) for x in re.findall(r"-?\d+\.\d+", block[: block.index("std = torch.tensor(") + 2000])]
    return nums[:48], nums[48:96]


def tokenizer():
    tmp = tempfile.mkdtemp()
    shutil.copy(os.path.join(FIX, "tokenizer", "spiece.model"), os.path.join(tmp, "spiece.model"))
    with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "T5Tokenizer", "extra_ids": 0, "eos_token": "</s>",
                   "unk_token": "<unk>", "pad_token": "<pad>"}, f)
    return AutoTokenizer.from_pretrained(tmp)


def text_encoder():
    torch.manual_seed(1)
    cfg = UMT5Config(vocab_size=3000, d_model=TEXT_DIM, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                     relative_attention_num_buckets=32, relative_attention_max_distance=128,
                     feed_forward_proj="gated-gelu", pad_token_id=0, eos_token_id=1,
                     decoder_start_token_id=0, is_encoder_decoder=False)
    return UMT5EncoderModel(cfg).eval()


def transformer(seed, in_ch, out_ch):
    torch.manual_seed(seed)
    t = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=32,
                              in_channels=in_ch, out_channels=out_ch, text_dim=TEXT_DIM, freq_dim=256,
                              ffn_dim=96, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                              eps=1e-6, image_dim=None, added_kv_proj_dim=None, rope_max_seq_len=1024)
    with torch.no_grad():  # larger than default init, so every block visibly changes the result
        for name, p in t.named_parameters():
            if name.endswith("weight") and p.dim() >= 2:
                p.normal_(0, 0.3 / p.shape[1] ** 0.5 * 3)
            elif "scale_shift_table" in name:
                p.normal_(0, 0.2)
    return t.eval()


def vae21():
    torch.manual_seed(3)
    return AutoencoderKLWan(base_dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                            attn_scales=[], temperal_downsample=[False, True, True]).eval()


def vae22():
    torch.manual_seed(4)
    mean, std = wan22_stats()
    return AutoencoderKLWan(base_dim=4, decoder_base_dim=4, z_dim=48, dim_mult=[1, 2, 4, 4],
                            num_res_blocks=2, attn_scales=[], temperal_downsample=[False, True, True],
                            is_residual=True, in_channels=12, out_channels=12, patch_size=2,
                            scale_factor_temporal=4, scale_factor_spatial=16,
                            latents_mean=mean, latents_std=std).eval()


def scheduler(kind, shift):
    if kind == "unipc":
        return UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                       flow_shift=shift, num_train_timesteps=1000)
    if kind == "dpm++":
        return DPMSolverMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                           flow_shift=shift, num_train_timesteps=1000,
                                           algorithm_type="dpmsolver++", solver_order=2)
    return FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)


def test_video(frames, h, w, seed):
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = []
    for f in range(frames):
        r = 0.5 + 0.4 * np.sin(6 * xx + 0.3 * f + g.uniform(0, 0.1))
        gg = 0.5 + 0.4 * np.cos(5 * yy - 0.2 * f)
        b = 0.5 + 0.3 * np.sin(4 * (xx + yy) + 0.1 * f)
        out.append(np.stack([r, gg, b], -1))
    return np.clip(np.stack(out), 0, 1).astype(np.float32)  # [F, H, W, 3] in [0, 1]


def save_folder(name, pipe_cls, components, config, shift):
    path = os.path.join(MODELS, name)
    os.makedirs(path, exist_ok=True)
    scheduler("unipc", shift).save_pretrained(os.path.join(path, "scheduler"))
    index = {"_class_name": pipe_cls.__name__, "_diffusers_version": "0.42.1", **config}
    for key, (obj, store) in components.items():
        index[key] = [obj.__module__.split(".")[0], type(obj).__name__]
        link = os.path.join(path, key)
        if os.path.lexists(link):
            os.remove(link) if os.path.islink(link) else shutil.rmtree(link)
        os.symlink(os.path.join("..", "shared", store), link)
    index["scheduler"] = ["diffusers", "UniPCMultistepScheduler"]
    with open(os.path.join(path, "model_index.json"), "w") as f:
        json.dump(index, f, indent=2)


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(MODELS, "shared"))
    tok, te = tokenizer(), text_encoder()
    parts = {
        "tokenizer": tok, "text_encoder": te, "vae21": vae21(), "vae22": vae22(),
        "t2v_high": transformer(10, 16, 16), "t2v_low": transformer(11, 16, 16),
        "i2v_high": transformer(12, 36, 16), "i2v_low": transformer(13, 36, 16),
        "ti2v": transformer(14, 48, 48),
    }
    for store, obj in parts.items():
        if store == "tokenizer":
            obj.save_pretrained(os.path.join(MODELS, "shared", store))
            # The same tokenizer.json is a tokenizer fixture already: link instead of a second copy.
            tj = os.path.join(MODELS, "shared", store, "tokenizer.json")
            os.remove(tj)
            os.symlink(os.path.join("..", "..", "..", "..", "tokenizer", "spiece.tokenizer.json"), tj)
            continue
        # Weights rounded to bf16 and stored as bf16 (half the bytes); both sides compute in f32.
        with torch.no_grad():
            for prm in obj.parameters():
                prm.copy_(prm.to(torch.bfloat16).to(torch.float32))
        obj.to(torch.bfloat16).save_pretrained(os.path.join(MODELS, "shared", store))
        obj.to(torch.float32)

    prompt = "a red circle moves left on a blue background"
    negative = "blurry, static"
    cases = []

    def record(name, pipe, kind, shift, steps, extra, seed=42):
        pipe.scheduler = scheduler(kind, shift)
        captured = {}
        orig_decode = pipe.vae.decode

        def spy(z, *a, **k):
            captured["decoder_input"] = z.detach().clone()
            return orig_decode(z, *a, **k)

        pipe.vae.decode = spy
        g = torch.Generator("cpu").manual_seed(seed)
        args = dict(prompt=prompt, negative_prompt=negative, num_inference_steps=steps,
                    generator=g, output_type="np", max_sequence_length=512, **extra)
        with torch.no_grad():
            frames = pipe(**args).frames[0]
        pipe.vae.decode = orig_decode
        z = captured["decoder_input"][0]
        cases.append({"name": name, "sampler": kind, "shift": shift, "steps": steps, "seed": seed,
                      "args": {k: v for k, v in extra.items() if isinstance(v, (int, float, str))},
                      "decoder_input_shape": list(z.shape), "frames_shape": list(frames.shape)})
        tensors = {f"{name}.decoder_input": z.float().contiguous()}
        if kind == "unipc":  # decoding is the same for every sampler; fp16 keeps the file small
            tensors[f"{name}.frames"] = torch.from_numpy(np.ascontiguousarray(frames)).half()
        save_file(tensors, os.path.join(OUT, f"{name}.safetensors"))
        print(name, "latent", tuple(z.shape), "|z|", float(z.abs().mean()), "frames", frames.shape,
              "range", float(frames.min()), float(frames.max()))

    t2v_one = WanPipeline(tokenizer=tok, text_encoder=te, vae=parts["vae21"], scheduler=scheduler("unipc", 5),
                          transformer=parts["t2v_high"])
    save_folder("tiny-t2v", WanPipeline, {"tokenizer": (tok, "tokenizer"), "text_encoder": (te, "text_encoder"),
                                          "vae": (parts["vae21"], "vae21"), "transformer": (parts["t2v_high"], "t2v_high")},
                {"boundary_ratio": None, "expand_timesteps": False}, 5.0)
    for kind in ("unipc", "dpm++", "euler"):
        record(f"t2v-{kind}", t2v_one, kind, 5.0, 6, dict(height=32, width=48, num_frames=9, guidance_scale=4.0))

    t2v_two = WanPipeline(tokenizer=tok, text_encoder=te, vae=parts["vae21"], scheduler=scheduler("unipc", 12),
                          transformer=parts["t2v_high"], transformer_2=parts["t2v_low"], boundary_ratio=0.875)
    save_folder("tiny-t2v-a14b", WanPipeline, {"tokenizer": (tok, "tokenizer"), "text_encoder": (te, "text_encoder"),
                                               "vae": (parts["vae21"], "vae21"), "transformer": (parts["t2v_high"], "t2v_high"),
                                               "transformer_2": (parts["t2v_low"], "t2v_low")},
                {"boundary_ratio": 0.875, "expand_timesteps": False}, 12.0)
    for kind in ("unipc", "dpm++", "euler"):
        record(f"t2v-a14b-{kind}", t2v_two, kind, 12.0, 8,
               dict(height=32, width=48, num_frames=9, guidance_scale=4.0, guidance_scale_2=3.0))

    ti2v = WanPipeline(tokenizer=tok, text_encoder=te, vae=parts["vae22"], scheduler=scheduler("unipc", 5),
                       transformer=parts["ti2v"], expand_timesteps=True)
    save_folder("tiny-ti2v", WanPipeline, {"tokenizer": (tok, "tokenizer"), "text_encoder": (te, "text_encoder"),
                                           "vae": (parts["vae22"], "vae22"), "transformer": (parts["ti2v"], "ti2v")},
                {"boundary_ratio": None, "expand_timesteps": True}, 5.0)
    for kind in ("unipc", "dpm++", "euler"):
        record(f"ti2v-t2v-{kind}", ti2v, kind, 5.0, 6, dict(height=64, width=96, num_frames=9, guidance_scale=5.0))

    u8 = lambda a: (a * 255).round().astype(np.uint8)
    image = test_video(1, 64, 96, 5)[0]
    img21 = test_video(1, 32, 48, 6)[0]
    src = test_video(9, 32, 48, 7)
    # The exact pixels the pipelines get, as uint8 [H, W, 3] / [F, H, W, 3].
    save_file({"ti2v_image": torch.from_numpy(u8(image)), "i2v_image": torch.from_numpy(u8(img21)),
               "edit_source": torch.from_numpy(u8(src))}, os.path.join(OUT, "inputs.safetensors"))
    ti2v_i2v = WanImageToVideoPipeline(tokenizer=tok, text_encoder=te, vae=parts["vae22"], scheduler=scheduler("unipc", 5),
                                       transformer=parts["ti2v"], image_encoder=None, image_processor=None,
                                       expand_timesteps=True)
    from PIL import Image
    pil = Image.fromarray(u8(image))
    for kind in ("unipc", "dpm++", "euler"):
        record(f"ti2v-i2v-{kind}", ti2v_i2v, kind, 5.0, 6,
               dict(image=pil, height=64, width=96, num_frames=9, guidance_scale=5.0))

    pil21 = Image.fromarray(u8(img21))
    i2v = WanImageToVideoPipeline(tokenizer=tok, text_encoder=te, vae=parts["vae21"], scheduler=scheduler("unipc", 5),
                                  transformer=parts["i2v_high"], transformer_2=parts["i2v_low"], image_encoder=None,
                                  image_processor=None, boundary_ratio=0.9)
    save_folder("tiny-i2v-a14b", WanImageToVideoPipeline, {"tokenizer": (tok, "tokenizer"), "text_encoder": (te, "text_encoder"),
                                                           "vae": (parts["vae21"], "vae21"), "transformer": (parts["i2v_high"], "i2v_high"),
                                                           "transformer_2": (parts["i2v_low"], "i2v_low")},
                {"boundary_ratio": 0.9, "expand_timesteps": False, "image_encoder": [None, None], "image_processor": [None, None]}, 5.0)
    for kind in ("unipc", "dpm++", "euler"):
        record(f"i2v-a14b-{kind}", i2v, kind, 5.0, 8,
               dict(image=pil21, height=32, width=48, num_frames=9, guidance_scale=3.5, guidance_scale_2=3.5))

    edit = WanVideoToVideoPipeline(tokenizer=tok, text_encoder=te, vae=parts["vae21"], scheduler=scheduler("unipc", 5),
                                   transformer=parts["t2v_high"])
    video = [Image.fromarray(f) for f in u8(src)]
    for kind in ("unipc", "dpm++", "euler"):
        record(f"edit-{kind}", edit, kind, 5.0, 10, dict(video=video, height=32, width=48, strength=0.7, guidance_scale=4.0))

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"generator": "Tools/reference/pipeline_fixtures.py", "torch": torch.__version__,
                   "prompt": prompt, "negative_prompt": negative, "max_sequence_length": 512, "cases": cases}, f, indent=1)


main()
