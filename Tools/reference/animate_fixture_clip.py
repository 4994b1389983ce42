"""Animate fixtures, part 1: the CLIP image encoder (see animate_fixtures.py)."""
import math, os, types

import torch
from safetensors.torch import save_file

from animate_common import MODEL, OUT, exact_attention, f16_round_, u8_image


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
