"""Animate fixtures, part 3: Pillow resampling and the whole WanAnimatePipeline (see
animate_fixtures.py)."""
import json, math, os, shutil

import numpy as np
import torch
from safetensors.torch import save_file

from animate_common import MODEL, OUT, u8_image


# ----------------------------------------------------------------------------------------------
# Pillow resampling (what diffusers' image and video processors resize with)
# ----------------------------------------------------------------------------------------------

def make_resize():
    """PIL's resize for the filters diffusers uses (bilinear: the reference's fill, lanczos: videos,
    bicubic), RGB and L, up and down; and convert("L")."""
    from PIL import Image
    io = {}
    src = u8_image(23, 37, 41)
    io["rgb"] = torch.from_numpy(src)
    for filt, code in (("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC), ("lanczos", Image.LANCZOS)):
        for (w, h) in ((16, 11), (53, 40)):
            io[f"{filt}.{w}x{h}"] = torch.from_numpy(np.array(Image.fromarray(src).resize((w, h), resample=code)))
            io[f"{filt}.L.{w}x{h}"] = torch.from_numpy(np.array(Image.fromarray(src).convert("L").resize((w, h), resample=code)))
    io["L"] = torch.from_numpy(np.array(Image.fromarray(src).convert("L")))
    save_file(io, os.path.join(OUT, "resize.safetensors"))


# ----------------------------------------------------------------------------------------------
# The whole WanAnimatePipeline
# ----------------------------------------------------------------------------------------------

PIPE_H, PIPE_W = 32, 32
PROMPT = "a person waves both arms"
NEGATIVE = "blurry, static"


def link_shared(name, store):
    link = os.path.join(MODEL, name)
    if os.path.lexists(link):
        os.remove(link) if os.path.islink(link) else shutil.rmtree(link)
    os.symlink(os.path.join("..", "..", "..", "pipelines", "models", "shared", store), link)


def save_pipeline_folder():
    from diffusers import UniPCMultistepScheduler
    link_shared("tokenizer", "tokenizer")
    link_shared("text_encoder", "text_encoder")
    link_shared("vae", "vae21")
    UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000,
                            flow_shift=5.0).save_pretrained(os.path.join(MODEL, "scheduler"))
    index = {"_class_name": "WanAnimatePipeline", "_diffusers_version": "0.42.1",
             "image_encoder": ["transformers", "CLIPVisionModel"], "image_processor": ["transformers", "CLIPImageProcessor"],
             "scheduler": ["diffusers", "UniPCMultistepScheduler"], "text_encoder": ["transformers", "UMT5EncoderModel"],
             "tokenizer": ["transformers", "T5Tokenizer"], "transformer": ["diffusers", "WanAnimateTransformer3DModel"],
             "vae": ["diffusers", "AutoencoderKLWan"]}
    with open(os.path.join(MODEL, "model_index.json"), "w") as f:
        json.dump(index, f, indent=2)


def driving_videos(frames, seed):
    """Pose-like strokes on black, a face crop, a background and a character mask (white = generate)."""
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:PIPE_H, 0:PIPE_W]
    fy, fx = np.mgrid[0:16, 0:16]
    pose, face, bg, mask = [], [], [], []
    for f in range(frames):
        cx, cy = 10 + 0.8 * f, 16 + 4 * math.sin(f / 2)
        p = np.zeros((PIPE_H, PIPE_W, 3))
        p[..., 0] = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 8)
        p[..., 1] = np.exp(-((xx - cx - 6) ** 2 + (yy - cy + 5) ** 2) / 5)
        p[..., 2] = (np.abs(yy - cy - (xx - cx) * 0.5) < 1.2) * (np.abs(xx - cx) < 8)
        pose.append(p)
        fc = np.stack([0.5 + 0.4 * np.sin(fx / 3 + f / 4), 0.4 + 0.3 * np.cos(fy / 2 - f / 5),
                       0.5 + 0.4 * ((fx - 8) ** 2 + (fy - 7 - f % 3) ** 2 < 20)], -1)
        face.append(fc + g.normal(0, 0.03, fc.shape))
        b = np.stack([0.3 + 0.2 * np.sin(xx / 7 + f / 9), 0.5 + 0.1 * np.cos(yy / 5), 0.6 + 0.2 * (xx > 20)], -1)
        bg.append(b + g.normal(0, 0.02, b.shape))
        m = ((np.abs(xx - cx) < 7) & (np.abs(yy - cy) < 10)).astype(float)
        m[np.abs(np.abs(xx - cx) - 7) < 1] = 0.5  # soft edge: grey levels reach the mask path
        mask.append(m)
    u8 = lambda a: (np.clip(np.stack(a), 0, 1) * 255).round().astype(np.uint8)
    return u8(pose), u8(face), u8(bg), u8(mask)


CASES = [
    # name, mode, segment frames, frames, prev_segment_conditioning_frames, guidance, steps, seed,
    # reference size (h, w). Both pad the driving videos (13 -> 17, 19 -> 21 frames) and run two
    # segments. diffusers counts segments as target_frames // (segment - prev), which is one too
    # many when prev >= segment - prev, so refert 5 needs segments of 13 frames or more.
    ("animate", "animate", 9, 13, 1, 2.0, 4, 42, (36, 40)),
    ("replace", "replace", 13, 19, 5, 1.0, 4, 7, (PIPE_H, PIPE_W)),
]


def make_pipeline():
    from PIL import Image
    from diffusers import WanAnimatePipeline
    save_pipeline_folder()
    pipe = WanAnimatePipeline.from_pretrained(MODEL, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    tensors, cases = {}, []
    pose, face, bg, mask = driving_videos(19, 51)
    tensors.update({"pose": torch.from_numpy(pose), "face": torch.from_numpy(face), "background": torch.from_numpy(bg),
                    "mask": torch.from_numpy(mask)})
    for name, mode, segment, frames, refert, guidance, steps, seed, (rh, rw) in CASES:
        ref = u8_image(rh, rw, 60 + seed)
        tensors[f"{name}.reference"] = torch.from_numpy(ref)
        captured = []
        orig = pipe.vae.decode

        def spy(z, *a, **k):
            captured.append(z.detach().clone())
            return orig(z, *a, **k)

        pipe.vae.decode = spy
        pil = lambda a: [Image.fromarray(x) for x in a[:frames]]
        args = dict(image=Image.fromarray(ref), pose_video=pil(pose), face_video=pil(face), prompt=PROMPT,
                    negative_prompt=NEGATIVE, height=PIPE_H, width=PIPE_W, segment_frame_length=segment,
                    num_inference_steps=steps, mode=mode, prev_segment_conditioning_frames=refert,
                    guidance_scale=guidance, generator=torch.Generator("cpu").manual_seed(seed), output_type="np",
                    max_sequence_length=512)
        if mode == "replace":
            args.update(background_video=pil(bg), mask_video=[Image.fromarray(m).convert("RGB") for m in mask[:frames]])
        with torch.no_grad():
            out = pipe(**args).frames[0]
        pipe.vae.decode = orig
        for i, z in enumerate(captured):
            tensors[f"{name}.segment{i}.decoder_input"] = z[0].float().contiguous()
        if name == "animate":  # decoding and the segment stitching; latents carry the parity of both cases
            tensors[f"{name}.frames"] = torch.from_numpy(np.ascontiguousarray((np.clip(out, 0, 1) * 255).round().astype(np.uint8)))
        cases.append({"name": name, "mode": mode, "frames": frames, "refert_num": refert, "guidance": guidance,
                      "steps": steps, "seed": seed, "segments": len(captured), "reference_size": [rw, rh],
                      "height": PIPE_H, "width": PIPE_W, "segment_frames": segment, "shift": 5.0,
                      "output_frames": int(out.shape[0])})
        print("pipeline", name, "segments", len(captured), "latents", tuple(captured[0].shape), "frames", out.shape,
              "|z|", float(captured[-1].abs().mean()))
    save_file(tensors, os.path.join(OUT, "pipeline.safetensors"))
    with open(os.path.join(OUT, "pipeline.json"), "w") as f:
        json.dump({"generator": "Tools/reference/animate_fixtures.py", "torch": torch.__version__, "prompt": PROMPT,
                   "negative_prompt": NEGATIVE, "cases": cases}, f, indent=1)
