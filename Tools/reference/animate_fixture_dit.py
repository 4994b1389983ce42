"""Animate fixtures, part 2: the Animate DiT, its official key layout, and the real-size tables
(see animate_fixtures.py)."""
import json, math, os

import torch
from safetensors.torch import save_file

from animate_common import OUT, f16_round_


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
