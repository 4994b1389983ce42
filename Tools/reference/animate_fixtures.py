#!/usr/bin/env python3
"""Reference fixtures for Wan2.2-Animate: the CLIP image encoder, the Animate DiT, the real-size
tensor tables and the whole diffusers WanAnimatePipeline on tiny random models.

Writes under Tests/Fixtures/animate/:

    clip.official.pth          tiny open-clip ViT (official `visual.*` names, plus a stub text
                               tower that a loader must skip), f16
    clip.io.safetensors        reference images (uint8) and what each reference makes of them:
                               the official CLIPModel.visual (bicubic stretch, 31 of 32 blocks) and
                               diffusers' WanAnimatePipeline.encode_image (CLIPImageProcessor:
                               antialiased bicubic shortest-edge resize, centre crop;
                               CLIPVisionModel hidden_states[-2]); also the processor's pixels
    dit.official.safetensors   the tiny Animate DiT in official key names (fused face K/V,
                               motion-encoder biases [1,C,1,1], blur kernels), f16
    dit.io.safetensors         one forward pass of diffusers' WanAnimateTransformer3DModel
    real_shapes.json           names and shapes of the real Animate-14B DiT (official and diffusers)
                               and of the ViT-H/14 tower (official and transformers), condensed
    models/tiny-animate/       a diffusers WanAnimatePipeline folder (transformer/, image_encoder/,
                               image_processor/, scheduler/; tokenizer, text encoder and VAE link
                               to the pipelines fixtures' shared components)
    pipeline.safetensors       inputs (uint8 videos) and, per case, the latents of every segment
                               as the VAE decoder gets them and the output frames (uint8)
    pipeline.json              the cases

    ~/refenv/bin/python Tools/reference/animate_fixtures.py

Attention: the official code calls flash_attention (CUDA only); it is replaced by exact float32
softmax attention. The official FaceBlock and the official DiT are not run here (the official
motion encoder is fixed at 512x512 inputs); diffusers' port was checked numerically against them
(shared/reference/next-modes.md B.1), and the official key names are checked on the real-size
models built on the meta device.
"""
import json, math, os, shutil, sys, types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchvision_cpu  # noqa: F401  (before torchvision / transformers image processors)
import wan_cpu  # noqa: F401  (before the wan imports)
from safetensors.torch import save_file

torch.set_num_threads(1)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(FIX, "animate")


def exact_attention(q, k, v, q_lens=None, k_lens=None, **_):
    """wan's flash_attention on [B, L, N, D], exact float32 softmax attention, no masking."""
    qh, kh, vh = (u.transpose(1, 2).float() for u in (q, k, v))
    s = (qh @ kh.transpose(-1, -2)) / math.sqrt(q.size(-1))
    return (s.softmax(-1) @ vh).transpose(1, 2).contiguous()


def f16_round_(module):
    """Rounds every parameter to float16 (stored as f16, computed in f32 on both sides)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.half().float())
    return module


def u8_image(h, w, seed):
    g = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.45 * np.sin(7 * xx + 2 * yy + g.uniform(0, 3)),
                    0.5 + 0.45 * np.cos(5 * yy - 3 * xx),
                    0.5 + 0.4 * np.sin(9 * (xx * yy) + 1)], -1)
    img += g.normal(0, 0.08, img.shape)  # texture, so resampling errors would show
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# CLIP image encoder
# ----------------------------------------------------------------------------------------------

CLIP_IMAGE = 32  # tiny crop size; ViT-H/14 uses 224


def tiny_clip():
    from transformers import CLIPVisionConfig, CLIPVisionModel
    torch.manual_seed(21)
    cfg = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2,
                           image_size=CLIP_IMAGE, patch_size=8, hidden_act="gelu", layer_norm_eps=1e-5,
                           num_channels=3, projection_dim=16)
    model = CLIPVisionModel(cfg).eval()
    with torch.no_grad():  # larger than the default init, so every layer visibly matters
        for name, p in model.named_parameters():
            if p.dim() >= 2 and "position" not in name:
                p.normal_(0, 1.0 / math.sqrt(p[0].numel()))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0, 0.3)
    return f16_round_(model)


def clip_hf_to_official(sd, layers):
    """transformers CLIPVisionModel names (5.x state_dict, no `vision_model.` prefix) -> open-clip
    `visual.*` names (wan/modules/animate/clip.py)."""
    v = ""
    out = {
        "visual.patch_embedding.weight": sd[v + "embeddings.patch_embedding.weight"],
        "visual.cls_embedding": sd[v + "embeddings.class_embedding"].view(1, 1, -1),
        "visual.pos_embedding": sd[v + "embeddings.position_embedding.weight"].unsqueeze(0),
        "visual.pre_norm.weight": sd[v + "pre_layrnorm.weight"], "visual.pre_norm.bias": sd[v + "pre_layrnorm.bias"],
        "visual.post_norm.weight": sd[v + "post_layernorm.weight"],
        "visual.post_norm.bias": sd[v + "post_layernorm.bias"],
    }
    for n in range(layers):
        a, b = f"{v}encoder.layers.{n}.", f"visual.transformer.{n}."
        for p in ("weight", "bias"):
            out[b + "attn.to_qkv." + p] = torch.cat([sd[a + f"self_attn.{x}_proj.{p}"] for x in "qkv"])
            out[b + "attn.proj." + p] = sd[a + "self_attn.out_proj." + p]
            out[b + "norm1." + p] = sd[a + "layer_norm1." + p]
            out[b + "norm2." + p] = sd[a + "layer_norm2." + p]
            out[b + "mlp.0." + p] = sd[a + "mlp.fc1." + p]
            out[b + "mlp.2." + p] = sd[a + "mlp.fc2." + p]
    return out


def official_visual(hf):
    import wan.modules.animate.clip as oc
    oc.flash_attention = exact_attention
    c = hf.config
    vit = oc.VisionTransformer(image_size=c.image_size, patch_size=c.patch_size, dim=c.hidden_size,
                               mlp_ratio=c.intermediate_size / c.hidden_size, out_dim=16,
                               num_heads=c.num_attention_heads, num_layers=c.num_hidden_layers,
                               pool_type="token", pre_norm=True, post_norm=False, activation="gelu",
                               norm_eps=c.layer_norm_eps).eval()
    sd = clip_hf_to_official(hf.state_dict(), c.num_hidden_layers)
    torch.manual_seed(5)
    sd["visual.head"] = torch.randn(c.hidden_size, 16).half().float()
    missing, unexpected = vit.load_state_dict({k[len("visual."):]: t for k, t in sd.items()}, strict=True)
    assert not missing and not unexpected
    return vit, sd


def official_clip_features(vit, image_u8):
    """wan/modules/animate/clip.py CLIPModel.visual on a reference image, as animate.py calls it:
    the [-1, 1] image as [3, 1, H, W]."""
    import torchvision.transforms as T
    from wan.modules.animate.clip import CLIPModel
    fake = types.SimpleNamespace(model=types.SimpleNamespace(image_size=vit.image_size, visual=vit),
                                 dtype=torch.float32,
                                 transforms=T.Compose([T.Normalize(mean=[0.48145466, 0.4578275, 0.40821073],
                                                                   std=[0.26862954, 0.26130258, 0.27577711])]))
    img = torch.from_numpy(image_u8).permute(2, 0, 1).float() / 127.5 - 1  # animate.py: / 127.5 - 1
    with torch.no_grad():
        return CLIPModel.visual(fake, [img[:, None, :, :]])[0]


def clip_processor():
    from transformers import CLIPImageProcessor
    return CLIPImageProcessor(size={"shortest_edge": CLIP_IMAGE},
                              crop_size={"height": CLIP_IMAGE, "width": CLIP_IMAGE})


def diffusers_clip_features(hf, processor, image_u8):
    from PIL import Image
    from diffusers import WanAnimatePipeline
    fake = types.SimpleNamespace(image_processor=processor, image_encoder=hf, _execution_device=torch.device("cpu"))
    with torch.no_grad():
        feats = WanAnimatePipeline.encode_image(fake, Image.fromarray(image_u8))[0]
    pixels = processor(images=Image.fromarray(image_u8), return_tensors="pt")["pixel_values"][0]
    return feats, pixels


CLIP_CASES = [("down", 40, 52, 31), ("up", 20, 30, 32), ("exact", 32, 48, 33), ("tall", 61, 37, 34)]


MODEL = os.path.join(OUT, "models", "tiny-animate")


def save_image_encoder(hf):
    """image_encoder/ as the published diffusers folders hold it: written by transformers 4.x, so
    its keys carry the `vision_model.` prefix (5.x saves without it and reads both), f16."""
    from safetensors.torch import load_file
    from transformers import CLIPVisionModel
    path = os.path.join(MODEL, "image_encoder")
    hf.save_pretrained(path)
    weights = os.path.join(path, "model.safetensors")
    sd = load_file(weights)
    save_file({"vision_model." + k: t.half().contiguous() for k, t in sd.items()}, weights, metadata={"format": "pt"})
    back = CLIPVisionModel.from_pretrained(path).eval()
    for k, t in hf.state_dict().items():
        assert torch.equal(back.state_dict()[k], t), k
    clip_processor().save_pretrained(os.path.join(MODEL, "image_processor"))


def make_clip(hf):
    save_image_encoder(hf)
    vit, official_sd = official_visual(hf)
    # The real file holds the text tower too; two of its tensors stand for it here.
    official_sd["textual.token_embedding.weight"] = torch.zeros(8, 4)
    official_sd["log_scale"] = torch.tensor(2.6593)
    torch.save({k: t.half() if t.is_floating_point() else t for k, t in official_sd.items()},
               os.path.join(OUT, "clip.official.pth"))
    processor = clip_processor()
    io = {}
    for name, h, w, seed in CLIP_CASES:
        img = u8_image(h, w, seed)
        io[f"{name}.image"] = torch.from_numpy(img)
        off = official_clip_features(vit, img)
        dif, pixels = diffusers_clip_features(hf, processor, img)
        # The same tower on the same pixels: official stretch vs diffusers crop only differ in pixels.
        with torch.no_grad():
            same = hf(pixel_values=pixels[None], output_hidden_states=True).hidden_states[-2][0]
            assert torch.allclose(same, dif), name
        io[f"{name}.official_features"] = off.float().contiguous()
        io[f"{name}.diffusers_features"] = dif.float().contiguous()
        if name in ("down", "up", "exact"):  # the resize cases (and one crop-only), for the pixel check
            io[f"{name}.diffusers_pixels"] = pixels.float().contiguous()
        print("clip", name, tuple(img.shape), "official", tuple(off.shape), float(off.abs().mean()),
              "diffusers", tuple(dif.shape), float(dif.abs().mean()))
    # Official and transformers towers agree on identical pixels (checks the name map above).
    x = io["exact.diffusers_pixels"][None]
    with torch.no_grad():
        a = vit(x, use_31_block=True)[0]
        b = hf(pixel_values=x, output_hidden_states=True).hidden_states[-2][0]
    err = float((a - b).norm() / b.norm())
    assert err < 1e-6, err
    print("clip official vs transformers tower on the same pixels: rel", err)
    save_file(io, os.path.join(OUT, "clip.io.safetensors"))


# ----------------------------------------------------------------------------------------------
# Animate DiT
# ----------------------------------------------------------------------------------------------

DIT_CONFIG = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=36,
                  latent_channels=16, out_channels=16, text_dim=32, freq_dim=64, ffn_dim=48, num_layers=4,
                  cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=32,
                  added_kv_proj_dim=32, rope_max_seq_len=1024,
                  motion_encoder_channel_sizes={"16": 8, "8": 12, "4": 16}, motion_encoder_size=16,
                  motion_style_dim=16, motion_dim=4, motion_encoder_dim=16, face_encoder_hidden_dim=16,
                  face_encoder_num_heads=4, inject_face_latents_blocks=2, motion_encoder_batch_size=8)


def tiny_dit():
    from diffusers import WanAnimateTransformer3DModel
    torch.manual_seed(22)
    model = WanAnimateTransformer3DModel(**DIT_CONFIG).eval()
    with torch.no_grad():  # larger than the default init, so every part visibly changes the output
        for name, p in model.named_parameters():
            if name.startswith("motion_encoder.") and p.dim() >= 2:
                p.normal_(0, 1.0)  # MotionConv2d / MotionLinear scale by 1/sqrt(fan_in) themselves
            elif p.dim() >= 2:
                p.normal_(0, 1.0 / math.sqrt(p[0].numel()))
            elif "scale_shift_table" in name:
                p.normal_(0, 0.3)
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0, 0.2)
    return f16_round_(model)


BLUR = torch.tensor([1.0, 3.0, 3.0, 1.0])
BLUR_KERNEL = (BLUR[None, :] * BLUR[:, None]) / (BLUR[None, :] * BLUR[:, None]).sum()  # make_kernel([1,3,3,1])


def dit_diffusers_to_official(sd):
    """diffusers WanAnimateTransformer3DModel names -> official WanAnimateModel names: the inverse of
    diffusers' converter (ANIMATE_TRANSFORMER_KEYS_RENAME_DICT, convert_animate_motion_encoder_weights,
    convert_animate_face_adapter_weights). Fuses the face K/V projections, gives the motion encoder's
    activation biases their [1, C, 1, 1] shape and adds the blur kernel buffers."""
    out = {}
    res_blocks = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("motion_encoder.res_blocks."))
    simple = [("condition_embedder.time_embedder.linear_1.", "time_embedding.0."),
              ("condition_embedder.time_embedder.linear_2.", "time_embedding.2."),
              ("condition_embedder.text_embedder.linear_1.", "text_embedding.0."),
              ("condition_embedder.text_embedder.linear_2.", "text_embedding.2."),
              ("condition_embedder.time_proj.", "time_projection.1."),
              ("condition_embedder.image_embedder.norm1.", "img_emb.proj.0."),
              ("condition_embedder.image_embedder.ff.net.0.proj.", "img_emb.proj.1."),
              ("condition_embedder.image_embedder.ff.net.2.", "img_emb.proj.3."),
              ("condition_embedder.image_embedder.norm2.", "img_emb.proj.4."),
              ("proj_out.", "head.head."), ("motion_encoder.motion_network.", "motion_encoder.enc.fc."),
              ("face_encoder.conv1_local.", "face_encoder.conv1_local.conv."),
              ("face_encoder.conv2.", "face_encoder.conv2.conv."), ("face_encoder.conv3.", "face_encoder.conv3.conv.")]
    block_parts = {"attn1.to_q": "self_attn.q", "attn1.to_k": "self_attn.k", "attn1.to_v": "self_attn.v",
                   "attn1.to_out.0": "self_attn.o", "attn1.norm_q": "self_attn.norm_q", "attn1.norm_k": "self_attn.norm_k",
                   "attn2.to_q": "cross_attn.q", "attn2.to_k": "cross_attn.k", "attn2.to_v": "cross_attn.v",
                   "attn2.to_out.0": "cross_attn.o", "attn2.norm_q": "cross_attn.norm_q", "attn2.norm_k": "cross_attn.norm_k",
                   "attn2.add_k_proj": "cross_attn.k_img", "attn2.add_v_proj": "cross_attn.v_img",
                   "attn2.norm_added_k": "cross_attn.norm_k_img", "norm2": "norm3",
                   "ffn.net.0.proj": "ffn.0", "ffn.net.2": "ffn.2"}
    face_parts = {"to_q": "linear1_q", "to_out": "linear2", "norm_q": "q_norm", "norm_k": "k_norm"}
    for k, t in sd.items():
        p = k.split(".")
        if k == "scale_shift_table":
            out["head.modulation"] = t
        elif p[0] == "blocks":
            rest = ".".join(p[2:])
            if rest == "scale_shift_table":
                out[f"blocks.{p[1]}.modulation"] = t
                continue
            stem, leaf = rest.rsplit(".", 1)
            out[f"blocks.{p[1]}.{block_parts[stem]}.{leaf}"] = t
        elif p[0] == "face_adapter":
            b = f"face_adapter.fuser_blocks.{p[1]}."
            if p[2] == "to_v":
                continue
            if p[2] == "to_k":
                out[b + "linear1_kv." + p[3]] = torch.cat([t, sd[f"face_adapter.{p[1]}.to_v.{p[3]}"]])
            else:
                out[b + face_parts[p[2]] + "." + p[3]] = t
        elif k.startswith("motion_encoder.conv_in."):
            out["motion_encoder.enc.net_app.convs.0.0.weight" if p[2] == "weight"
                else "motion_encoder.enc.net_app.convs.0.1.bias"] = t if p[2] == "weight" else t.view(1, -1, 1, 1)
        elif k.startswith("motion_encoder.res_blocks."):
            c = f"motion_encoder.enc.net_app.convs.{int(p[2]) + 1}."
            layer, leaf = p[3], p[-1]
            if layer == "conv1":
                out[c + ("conv1.0.weight" if leaf == "weight" else "conv1.1.bias")] = t if leaf == "weight" else t.view(1, -1, 1, 1)
            elif layer == "conv2":
                out[c + ("conv2.1.weight" if leaf == "weight" else "conv2.2.bias")] = t if leaf == "weight" else t.view(1, -1, 1, 1)
                out[c + "conv2.0.kernel"] = BLUR_KERNEL.clone()
            else:
                out[c + "skip.1.weight"] = t
                out[c + "skip.0.kernel"] = BLUR_KERNEL.clone()
        elif k == "motion_encoder.conv_out.weight":
            out[f"motion_encoder.enc.net_app.convs.{res_blocks + 1}.weight"] = t
        elif k == "motion_encoder.motion_synthesis_weight":
            out["motion_encoder.dec.direction.weight"] = t
        else:
            for a, b in simple:
                if k.startswith(a):
                    out[b + k[len(a):]] = t
                    break
            else:
                out[k] = t  # patch_embedding, pose_patch_embedding, face_encoder.out_proj / padding_tokens
    return out


def make_dit(model):
    torch.manual_seed(23)
    f, h, w = 3, 4, 6  # video latent frames (the reference latent is one more), latent height/width
    faces = 4 * f - 3  # 9 face frames -> 3 latent frames after the face encoder's two stride-2 convs
    real_rows = 7
    r16 = lambda t: t.half().float()  # inputs stored as f16, so both sides see the same values
    x = r16(torch.randn(1, 36, f + 1, h, w))
    context = r16(torch.randn(real_rows, DIT_CONFIG["text_dim"]))
    padded = torch.cat([context, torch.zeros(512 - real_rows, DIT_CONFIG["text_dim"])])[None]  # 512 rows: see B.1
    image = r16(torch.randn(1, 17, DIT_CONFIG["image_dim"]))
    pose = r16(torch.randn(1, 16, f, h, w))
    face = r16(torch.rand(1, 3, faces, 16, 16) * 2 - 1)
    t = torch.tensor([937.0])
    with torch.no_grad():
        out = model(hidden_states=x, timestep=t, encoder_hidden_states=padded, encoder_hidden_states_image=image,
                    pose_hidden_states=pose, face_pixel_values=face, return_dict=False)[0]
        # The face path on its own, for locating a mismatch.
        fp = face.permute(0, 2, 1, 3, 4).reshape(-1, 3, 16, 16)
        motion = model.motion_encoder(fp)
        face_tokens = model.face_encoder(motion.view(1, faces, -1))
    save_file({"x": x[0].half().contiguous(), "t": t, "context": context.half(), "image": image[0].half().contiguous(),
               "pose": pose[0].half().contiguous(), "face": face[0].half().contiguous(), "out": out[0].contiguous(),
               "motion": motion.contiguous(), "face_tokens": face_tokens[0].contiguous()},
              os.path.join(OUT, "dit.io.safetensors"))
    official = dit_diffusers_to_official(model.state_dict())
    save_file({k: t.half().contiguous() for k, t in official.items()}, os.path.join(OUT, "dit.official.safetensors"),
              metadata={"format": "pt"})
    print("dit out", tuple(out.shape), "|out|", float(out.abs().mean()), "motion", tuple(motion.shape),
          "face tokens", tuple(face_tokens.shape), "official tensors", len(official))


# ----------------------------------------------------------------------------------------------
# Real-size names and shapes (meta device: no memory, no weights)
# ----------------------------------------------------------------------------------------------

REAL_DIFFUSERS_CONFIG = dict(added_kv_proj_dim=5120, attention_head_dim=128, cross_attn_norm=True, eps=1e-6,
                             face_encoder_hidden_dim=1024, face_encoder_num_heads=4, ffn_dim=13824, freq_dim=256,
                             image_dim=1280, in_channels=36, inject_face_latents_blocks=5, latent_channels=16,
                             motion_dim=20, motion_encoder_batch_size=8, motion_encoder_channel_sizes=None,
                             motion_encoder_dim=512, motion_encoder_size=512, motion_style_dim=512,
                             num_attention_heads=40, num_layers=40, out_channels=16, patch_size=(1, 2, 2),
                             pos_embed_seq_len=None, qk_norm="rms_norm_across_heads", rope_max_seq_len=1024, text_dim=4096)

REPEATED = ("blocks", "face_adapter.fuser_blocks", "face_adapter", "visual.transformer", "textual.blocks",
            "vision_model.encoder.layers")


def condensed(named_shapes):
    """Entries of repeated containers (blocks.N., ...) are kept for N = 0 only, with the count."""
    keep, counts = [], {}
    for name, shape in named_shapes:
        for prefix in REPEATED:
            if name.startswith(prefix + "."):
                index = name[len(prefix) + 1:].split(".")[0]
                if index.isdigit():
                    counts[prefix] = max(counts.get(prefix, 0), int(index) + 1)
                    if index != "0":
                        break
                    keep.append([name, list(shape)])
                    break
        else:
            keep.append([name, list(shape)])
    return {"tensors": keep, "repeats": counts, "entries": len(named_shapes),
            "parameters": int(sum(math.prod(s) for _, s in named_shapes))}


def make_real_shapes():
    from diffusers import WanAnimateTransformer3DModel
    from transformers import CLIPVisionConfig, CLIPVisionModel
    import wan.modules.animate.model_animate as om
    import wan.modules.animate.clip as oc
    with torch.device("meta"):
        official = om.WanAnimateModel()  # the defaults are Animate-14B's (wan/configs/wan_animate_14B.py)
        diffusers = WanAnimateTransformer3DModel(**REAL_DIFFUSERS_CONFIG)
        clip = oc.clip_xlm_roberta_vit_h_14(pretrained=False, return_transforms=False, device="meta")
        tower = CLIPVisionModel(CLIPVisionConfig(hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
                                                 num_attention_heads=16, image_size=224, patch_size=14,
                                                 hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=1024))
    off = [(k, tuple(t.shape)) for k, t in official.state_dict().items()]
    dif = [(k, tuple(t.shape)) for k, t in diffusers.state_dict().items()]
    # The inverse name map must turn the diffusers model into exactly the official one.
    mapped = dit_diffusers_to_official({k: torch.empty(s, device="meta") for k, s in dif})
    assert {k: tuple(t.shape) for k, t in mapped.items()} == dict(off), \
        set(mapped) ^ set(dict(off))
    real = {
        "animate14b_official": condensed(off),
        "animate14b_diffusers": condensed(dif),
        "clip_open_clip": condensed([(k, tuple(t.shape)) for k, t in clip.state_dict().items()]),
        "clip_transformers": condensed([("vision_model." + k, tuple(t.shape)) for k, t in tower.state_dict().items()]),
    }
    with open(os.path.join(OUT, "real_shapes.json"), "w") as f:
        json.dump({"generator": "Tools/reference/animate_fixtures.py", **real}, f, separators=(",", ":"))
    for key, v in real.items():
        print("real", key, v["entries"], "entries", v["parameters"], "parameters", v["repeats"])


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


def main():
    os.makedirs(OUT, exist_ok=True)
    hf = tiny_clip()
    make_clip(hf)
    dit = tiny_dit()
    os.makedirs(os.path.join(MODEL, "transformer"), exist_ok=True)
    dit.half().save_pretrained(os.path.join(MODEL, "transformer"))
    dit.float()
    make_dit(dit)
    make_real_shapes()
    make_resize()
    make_pipeline()


if __name__ == "__main__":
    main()
