#!/usr/bin/env python3
"""Reference fixtures for model folders with non-default configs (issue 24).

Builds with diffusers a spread of AutoencoderKLWan and WanTransformer3DModel configs (repeated
dim_mult values, num_res_blocks 1 and 2, other base_dim / decoder_base_dim / z_dim, attn_scales,
temperal_downsample variants, Wan2.1 and Wan2.2 styles, patch sizes 1, 2 and 4; DiT patch sizes,
head sizes not divisible by 6, cross_attn_norm off, qk_norm null, eps, rope_max_seq_len, ...)
with random weights rounded to float16 (stored as float16 by save_pretrained), and records
reference outputs of a tiny clip. The VAE references are computed in float64 from the rounded
weights and stored as float32: diffusers' own float32 result is up to 1.1e-5 (relative) away from
them on the deepest config, as far as the 1e-5 bar, so a float32 reference could not tell a
float32 port's rounding from a bug. The float32 run is recorded next to each (cases.json) and
must stay within 1e-4.
Then saves two whole pipelines with pipe.save_pretrained (a WanPipeline and a
WanImageToVideoPipeline on non-default VAEs and transformers) and records their final latents.
Writes Tests/Fixtures/config-spread/:

    vae/NAME/{config.json, diffusion_pytorch_model.safetensors}   the AutoencoderKLWan folder
    vae/NAME.io.safetensors    encode_out [z, F, h, w] (normalized mu of clip[:, :T, :H, :W]),
                               decode_in (normalized latents), decode_out (clamped video), f32
    vae/clip.safetensors       the input clip [3, 9, 16, 32] in [-1, 1], float16
    dit/NAME/{config.json, diffusion_pytorch_model.safetensors}   the transformer folder
    dit/NAME.io.safetensors    x, t, context (real rows), out (f32)
    umt5/NAME/                 a UMT5EncoderModel folder (float16); umt5/NAME.io.safetensors:
                               ids (i64) and the encoder output (float64 run, stored f32)
    pipelines/NAME/            the pipeline folder; text_encoder/ and tokenizer/ are links to the
                               identical ones under Tests/Fixtures/pipelines/models/shared
    pipelines/NAME.safetensors final latents (the decoder input, de-normalized), f32
    pipelines/inputs.safetensors  the i2v image, uint8 [16, 32, 3]
    cases.json                 per case: the config, the clip crop, the official WanVAE_ key
                               table where the official code builds the same network

    ~/refenv/bin/python Tools/reference/config_spread_fixtures.py

diffusers 0.42 cannot encode with attn_scales (WanEncoder3d passes feat_cache to
WanAttentionBlock.forward, which takes only x, and raises TypeError; the official wan code does
the same). The attention block has no temporal state, so its forward is wrapped to drop those
arguments; nothing else is patched.
"""
import json, os, shutil, sys

sys.modules["torchvision"] = None  # refenv's torchvision 0.29 does not load with torch 2.13; nothing here needs it
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_cpu  # noqa: F401,E402  (must precede the wan imports)
import torch  # noqa: E402
from safetensors.torch import save_file, load_file  # noqa: E402
from diffusers import (AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanPipeline,  # noqa: E402
                       WanTransformer3DModel)
from diffusers.models.autoencoders import autoencoder_kl_wan as akw  # noqa: E402
from transformers import AutoTokenizer, UMT5Config, UMT5EncoderModel  # noqa: E402

torch.set_num_threads(1)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "Tests", "Fixtures")
OUT = os.path.join(FIX, "config-spread")
SHARED = os.path.join(FIX, "pipelines", "models", "shared")

_attn_forward = akw.WanAttentionBlock.forward
akw.WanAttentionBlock.forward = lambda self, x, feat_cache=None, feat_idx=None: _attn_forward(self, x)

# name, AutoencoderKLWan kwargs (latents_mean/std added below), clip (T, H, W), decode latents (F, h, w)
VAES = [
    # The shape, scaled down: repeated multipliers, so stages 2 and 3 have no shortcut conv.
    ("v21_repeat", dict(base_dim=2, z_dim=4, dim_mult=[1, 2, 2, 2], num_res_blocks=2,
                        temperal_downsample=[False, True, True]), (9, 16, 24), (3, 1, 2)),
    ("v21_res1", dict(base_dim=2, z_dim=6, dim_mult=[1, 2, 4], num_res_blocks=1,
                      temperal_downsample=[True, False], scale_factor_spatial=4, scale_factor_temporal=2),
     (9, 8, 12), (3, 2, 3)),
    ("v21_attn", dict(base_dim=2, z_dim=4, dim_mult=[1, 2, 2], num_res_blocks=1, attn_scales=[1.0, 0.5],
                      temperal_downsample=[False, True], scale_factor_spatial=4, scale_factor_temporal=2),
     (5, 8, 12), (3, 2, 3)),
    ("v21_decbase_notime", dict(base_dim=2, decoder_base_dim=3, z_dim=6, dim_mult=[1, 1, 2], num_res_blocks=2,
                                temperal_downsample=[False, False], scale_factor_spatial=4, scale_factor_temporal=1),
     (5, 8, 12), (3, 2, 3)),
    ("v21_patch2", dict(base_dim=2, z_dim=4, dim_mult=[1, 2, 2], num_res_blocks=1, temperal_downsample=[True, True],
                        patch_size=2, in_channels=12, out_channels=12, scale_factor_spatial=8),
     (9, 16, 24), (3, 1, 2)),
    ("v22_repeat", dict(base_dim=2, decoder_base_dim=2, z_dim=8, dim_mult=[1, 2, 2, 2], num_res_blocks=2,
                        temperal_downsample=[False, True, True], is_residual=True, patch_size=2,
                        in_channels=12, out_channels=12, scale_factor_spatial=16),
     (9, 16, 32), (3, 1, 1)),
    ("v22_res1_attn", dict(base_dim=2, decoder_base_dim=3, z_dim=6, dim_mult=[1, 2, 2], num_res_blocks=1,
                           attn_scales=[1.0], temperal_downsample=[True, True], is_residual=True, patch_size=2,
                           in_channels=12, out_channels=12, scale_factor_spatial=8),
     (9, 16, 24), (3, 1, 2)),
    ("v22_nopatch", dict(base_dim=2, z_dim=4, dim_mult=[1, 1, 2, 2], num_res_blocks=1,
                         temperal_downsample=[False, False, True], is_residual=True, scale_factor_temporal=2),
     (5, 16, 24), (3, 1, 2)),
    ("v22_patch4", dict(base_dim=2, z_dim=4, dim_mult=[2, 2], num_res_blocks=1, temperal_downsample=[True],
                        is_residual=True, patch_size=4, in_channels=48, out_channels=48,
                        scale_factor_spatial=8, scale_factor_temporal=2),
     (5, 16, 24), (3, 1, 2)),
    # Time halved three times: diffusers cannot encode it in 4-frame chunks; decode works.
    ("v21_time8", dict(base_dim=2, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                       temperal_downsample=[True, True, True], scale_factor_temporal=8),
     None, (2, 1, 2)),
]

# name, WanTransformer3DModel kwargs, latent (F, H, W), timestep kind, real text rows
DITS = [
    ("p111_h3", dict(patch_size=(1, 1, 1), num_attention_heads=3, attention_head_dim=8, in_channels=4, out_channels=4,
                     text_dim=16, freq_dim=32, ffn_dim=40, num_layers=2), (2, 3, 5), "scalar", 5),
    ("p222_h2", dict(patch_size=(2, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=4, out_channels=4,
                     text_dim=16, freq_dim=64, ffn_dim=48, num_layers=1), (4, 4, 6), "scalar", 7),
    ("p122_noxnorm", dict(patch_size=(1, 2, 2), num_attention_heads=1, attention_head_dim=18, in_channels=6,
                          out_channels=None, text_dim=20, freq_dim=32, ffn_dim=40, num_layers=1, cross_attn_norm=False,
                          qk_norm=None, eps=1e-5), (3, 4, 6), "scalar", 4),
    ("p121_h1", dict(patch_size=(1, 2, 1), num_attention_heads=1, attention_head_dim=20, in_channels=5, out_channels=3,
                     text_dim=24, freq_dim=64, ffn_dim=32, num_layers=1, rope_max_seq_len=16, eps=1e-5),
     (3, 4, 5), "scalar", 9),
    ("p212_pertoken", dict(patch_size=(2, 1, 2), num_attention_heads=2, attention_head_dim=10, in_channels=4,
                           out_channels=4, text_dim=16, freq_dim=16, ffn_dim=24, num_layers=1), (4, 3, 4), "per_token", 3),
]


# name, UMT5Config kwargs, token count: bucket counts and max distances other than 32/128, an
# attention width (heads x d_kv) other than d_model, another epsilon.
UMT5S = [
    ("umt5_b16_d20", dict(vocab_size=64, d_model=16, d_kv=6, num_heads=3, d_ff=24, num_layers=2,
                          relative_attention_num_buckets=16, relative_attention_max_distance=20,
                          layer_norm_epsilon=1e-5), 30),
    ("umt5_b8_d6", dict(vocab_size=50, d_model=12, d_kv=4, num_heads=2, d_ff=16, num_layers=1,
                        relative_attention_num_buckets=8, relative_attention_max_distance=6), 12),
]


def rel(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm().clamp_min(1e-30)).item()


def randomize_vae(model, seed):
    """Default inits, but norms' gamma and the zero-initialized attention proj random too, conv
    weights scaled so activations stay O(1); then everything rounded to float16."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / p[0].numel()) ** 0.5)
            p.copy_(p.half().float())


def randomize_dit(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2 and name.endswith("weight"):
                p.copy_(torch.randn(p.shape, generator=g) * (0.9 / p[0].numel() ** 0.5))
            elif "scale_shift_table" in name:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            p.copy_(p.half().float())


def save_half(model, path):
    """Saves in float16 and returns the model as diffusers loads the folder back in float32 (the
    round trip also drops casts that do not survive it: .to(float16) rounds the transformer's
    non-persistent RoPE tables, which from_pretrained rebuilds)."""
    model.to(torch.float16).save_pretrained(path)
    return type(model).from_pretrained(path, torch_dtype=torch.float32).eval()


def latent_stats(z, seed):
    g = torch.Generator().manual_seed(seed)
    mean = (0.3 * torch.randn(z, generator=g)).half().float()
    std = (0.6 + 0.8 * torch.rand(z, generator=g)).half().float()
    return [float(v) for v in mean], [float(v) for v in std]


def wan_module(name):
    """One file of wan/modules, loaded alone: the package's __init__ imports the pipelines, which
    need torchvision."""
    import importlib.util
    spec = importlib.util.find_spec("wan")
    path = os.path.join(os.path.dirname(spec.origin), "modules", f"{name}.py")
    module_spec = importlib.util.spec_from_file_location(f"wan_modules_{name}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def official_vae_keys(name, kw):
    """The official WanVAE_ state-dict keys and shapes, where the official code builds the same
    network (no decoder attention, and its stage rules equal diffusers' for <= 4 stages)."""
    vae2_1, vae2_2 = wan_module("vae2_1"), wan_module("vae2_2")
    if kw.get("attn_scales") or len(kw["dim_mult"]) > 4 or kw.get("decoder_base_dim") not in (None, kw["base_dim"]):
        return None
    common = dict(dim_mult=kw["dim_mult"], num_res_blocks=kw["num_res_blocks"], attn_scales=[],
                  temperal_downsample=kw["temperal_downsample"])
    if kw.get("is_residual"):
        if kw.get("patch_size") != 2:
            return None  # the official Wan2.2 VAE hard-codes the 2x2 patchify (12 channels)
        model = vae2_2.WanVAE_(dim=kw["base_dim"], dec_dim=kw.get("decoder_base_dim") or kw["base_dim"],
                               z_dim=kw["z_dim"], **common)
    else:
        if kw.get("patch_size") or kw.get("decoder_base_dim") not in (None, kw["base_dim"]):
            return None
        model = vae2_1.WanVAE_(dim=kw["base_dim"], z_dim=kw["z_dim"], **common)
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


def vae_case(index, name, kw, clip_size, dec_size, clip):
    z = kw["z_dim"]
    mean, std = latent_stats(z, 100 + index)
    torch.manual_seed(index)
    vae = AutoencoderKLWan(latents_mean=mean, latents_std=std, **kw).eval()
    randomize_vae(vae, 200 + index)
    folder = os.path.join(OUT, "vae", name)
    vae = save_half(vae, folder)
    m = torch.tensor(mean).view(-1, 1, 1, 1)
    inv = (1.0 / torch.tensor(std)).view(-1, 1, 1, 1)  # as the pipelines: 1/std rounded to f32
    io, notes = {}, {}
    with torch.no_grad():
        if clip_size is not None:
            t, h, w = clip_size
            x = clip[:, :t, :h, :w].unsqueeze(0)
            mu32 = vae.encode(x).latent_dist.mode().squeeze(0)
            mu = vae.double().encode(x.double()).latent_dist.mode().squeeze(0)
            vae.float()
            io["encode_out"] = ((mu - m.double()) * inv.double()).float().contiguous()
            notes["encode_f32_vs_f64"] = rel((mu32 - m) * inv, io["encode_out"])
        else:
            try:
                vae.encode(clip[:, :9, :8, :8].unsqueeze(0))
                raise SystemExit(f"{name}: diffusers was expected to fail to encode")
            except RuntimeError as e:
                print(f"{name}: diffusers encode fails as expected: {str(e)[:80]}")
        f, h, w = dec_size
        g = torch.Generator().manual_seed(300 + index)
        zn = torch.randn(z, f, h, w, generator=g)
        x32 = vae.decode((zn / inv + m).unsqueeze(0)).sample.squeeze(0)
        x = vae.double().decode((zn / inv + m).unsqueeze(0).double()).sample.squeeze(0).float()
        vae.float()
        notes["decode_f32_vs_f64"] = rel(x32, x)
        io["decode_in"] = zn.contiguous()
        io["decode_out"] = x.contiguous()
    save_file(io, os.path.join(OUT, "vae", f"{name}.io.safetensors"))
    sat = (io["decode_out"].abs() >= 1).float().mean().item()
    print(f"vae {name}: encode {tuple(io['encode_out'].shape) if 'encode_out' in io else None} "
          f"decode {tuple(x.shape)} saturated {sat:.1%} |x| {x.abs().mean():.3f}; diffusers in f32 vs f64: "
          + ", ".join(f"{k.split('_')[0]} {v:.1e}" for k, v in notes.items()))
    assert all(v < 1e-4 for v in notes.values()), notes
    return {"name": name, "kind": "vae", "clip": list(clip_size) if clip_size else None, "decode_latents": list(dec_size),
            "diffusers_f32_vs_f64": notes,
            "official_keys": official_vae_keys(name, kw)}


def dit_case(index, name, kw, latent, tkind, rows):
    torch.manual_seed(index)
    model = WanTransformer3DModel(**kw).eval()
    randomize_dit(model, 400 + index)
    model = save_half(model, os.path.join(OUT, "dit", name))
    cin = kw["in_channels"]
    g = torch.Generator().manual_seed(500 + index)
    f, h, w = latent
    x = torch.randn(1, cin, f, h, w, generator=g)
    context = torch.randn(1, rows, kw["text_dim"], generator=g)
    padded = torch.cat([context, torch.zeros(1, 512 - rows, kw["text_dim"])], 1)  # the pipelines pad to 512
    pt, ph, pw = kw["patch_size"]
    tokens = (f // pt) * (h // ph) * (w // pw)
    if tkind == "scalar":
        t = torch.tensor([613.0])
    else:
        t = torch.full((1, tokens), 613.0)
        t[0, : tokens // 3] = 0.0
    with torch.no_grad():
        out = model(x, t, padded, return_dict=False)[0]
    save_file({"x": x[0].contiguous(), "t": t.reshape(-1).contiguous(), "context": context[0].contiguous(),
               "out": out[0].float().contiguous()}, os.path.join(OUT, "dit", f"{name}.io.safetensors"))
    print(f"dit {name}: out {tuple(out.shape[1:])} |out| {out.abs().mean():.3f}")
    return {"name": name, "kind": "dit", "latent": list(latent), "timesteps": tkind, "rows": rows}


def umt5_case(index, name, kw, tokens):
    torch.manual_seed(index)
    cfg = UMT5Config(feed_forward_proj="gated-gelu", is_encoder_decoder=False, pad_token_id=0, eos_token_id=1,
                     decoder_start_token_id=0, **kw)
    model = UMT5EncoderModel(cfg).eval()
    g = torch.Generator().manual_seed(700 + index)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.randn(p.shape, generator=g) * (1.0 if p.dim() == 1 else 0.3)).half().float())
    folder = os.path.join(OUT, "umt5", name)
    model.to(torch.float16).save_pretrained(folder)
    model = UMT5EncoderModel.from_pretrained(folder, torch_dtype=torch.float32).eval()
    ids = torch.randint(2, kw["vocab_size"], (1, tokens), generator=g)
    ids[0, -1] = 1  # EOS
    with torch.no_grad():
        out32 = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
        out = model.double()(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0].float()
    save_file({"ids": ids[0].contiguous(), "out": out.contiguous()}, os.path.join(OUT, "umt5", f"{name}.io.safetensors"))
    print(f"umt5 {name}: out {tuple(out.shape)} f32 vs f64 {rel(out32, out):.1e}")
    return {"name": name, "kind": "umt5", "tokens": tokens, "diffusers_f32_vs_f64": {"encode": rel(out32, out)}}


def link(path, target):
    if os.path.lexists(path):
        shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
    os.symlink(os.path.relpath(target, os.path.dirname(path)), path)


def same_tensors(a_dir, b_dir):
    def tensors(d):
        files = sorted(f for f in os.listdir(d) if f.endswith(".safetensors"))
        out = {}
        for f in files:
            out.update(load_file(os.path.join(d, f)))
        return out
    a, b = tensors(a_dir), tensors(b_dir)
    return a.keys() == b.keys() and all(torch.equal(a[k].float(), b[k].float()) for k in a)


def pipeline_case(name, pipe_cls, vae_name, dit_kw, seed, args, extra_components=None):
    tok = AutoTokenizer.from_pretrained(os.path.join(SHARED, "tokenizer"))
    te = UMT5EncoderModel.from_pretrained(os.path.join(SHARED, "text_encoder"), torch_dtype=torch.float32).eval()
    vae = AutoencoderKLWan.from_pretrained(os.path.join(OUT, "vae", vae_name), torch_dtype=torch.float32).eval()
    torch.manual_seed(seed)
    transformer = WanTransformer3DModel(**dit_kw).eval()
    randomize_dit(transformer, 600 + seed)
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0,
                                    num_train_timesteps=1000)
    pipe = pipe_cls(tokenizer=tok, text_encoder=te, vae=vae, scheduler=sched, transformer=transformer,
                    **(extra_components or {}))
    folder = os.path.join(OUT, "pipelines", name)
    if os.path.exists(folder):
        shutil.rmtree(folder)
    for m in (te, vae, transformer):
        m.to(torch.float16 if m is not te else torch.bfloat16)
    pipe.save_pretrained(folder)
    # Components identical to stored ones become links, so the folder costs only its transformer.
    assert same_tensors(os.path.join(folder, "text_encoder"), os.path.join(SHARED, "text_encoder"))
    link(os.path.join(folder, "text_encoder"), os.path.join(SHARED, "text_encoder"))
    link(os.path.join(folder, "tokenizer"), os.path.join(SHARED, "tokenizer"))
    assert same_tensors(os.path.join(folder, "vae"), os.path.join(OUT, "vae", vae_name))
    link(os.path.join(folder, "vae"), os.path.join(OUT, "vae", vae_name))
    # The reference runs the folder as diffusers loads it.
    pipe = pipe_cls.from_pretrained(folder, torch_dtype=torch.float32)

    captured = {}
    orig = pipe.vae.decode

    def spy(z, *a, **k):
        captured["z"] = z.detach().clone()
        return orig(z, *a, **k)

    pipe.vae.decode = spy
    g = torch.Generator("cpu").manual_seed(42)
    with torch.no_grad():
        pipe(prompt="a red circle moves left on a blue background", negative_prompt="blurry, static",
             generator=g, output_type="np", max_sequence_length=512, **args)
    pipe.vae.decode = orig
    z = captured["z"][0].float().contiguous()
    save_file({"decoder_input": z}, os.path.join(OUT, "pipelines", f"{name}.safetensors"))
    print(f"pipeline {name}: latents {tuple(z.shape)} |z| {z.abs().mean():.3f}")
    plain = {k: v for k, v in args.items() if isinstance(v, (int, float, str))}
    return {"name": name, "kind": "pipeline", "pipeline": pipe_cls.__name__, "vae": vae_name, "seed": 42,
            "sampler": "unipc", "shift": 5.0, "args": plain}


def main():
    for sub in ("vae", "dit", "umt5", "pipelines"):
        shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
        os.makedirs(os.path.join(OUT, sub))
    g = torch.Generator().manual_seed(1)
    clip = (torch.rand(3, 9, 16, 32, generator=g) * 2 - 1).half()
    save_file({"clip": clip.contiguous()}, os.path.join(OUT, "vae", "clip.safetensors"))
    clip = clip.float()
    cases = [vae_case(i, *c, clip) for i, c in enumerate(VAES)]
    cases += [dit_case(i, *c) for i, c in enumerate(DITS)]
    cases += [umt5_case(i, *c) for i, c in enumerate(UMT5S)]

    from PIL import Image
    import numpy as np
    yy, xx = np.mgrid[0:32, 0:48] / 48.0
    image = np.stack([0.5 + 0.4 * np.sin(6 * xx), 0.5 + 0.4 * np.cos(5 * yy), 0.5 + 0.3 * np.sin(4 * (xx + yy))], -1)
    image = np.ascontiguousarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)[:16, :32])
    save_file({"image": torch.from_numpy(image)}, os.path.join(OUT, "pipelines", "inputs.safetensors"))
    # t2v on the issue-shaped VAE (z 4) with a (1, 1, 1)-patch transformer without cross-attention norm.
    cases.append(pipeline_case(
        "t2v-v21-repeat", WanPipeline, "v21_repeat",
        dict(patch_size=(1, 1, 1), num_attention_heads=2, attention_head_dim=12, in_channels=4, out_channels=4,
             text_dim=32, freq_dim=64, ffn_dim=48, num_layers=2, cross_attn_norm=False),
        7, dict(height=16, width=32, num_frames=9, num_inference_steps=5, guidance_scale=4.0)))
    # i2v on a Wan2.1-style VAE that halves time once (mask of 2 channels): in = 6 + 2 + 6.
    cases.append(pipeline_case(
        "i2v-v21-res1", WanImageToVideoPipeline, "v21_res1",
        dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=14, out_channels=6,
             text_dim=32, freq_dim=64, ffn_dim=48, num_layers=1),
        8, dict(image=Image.fromarray(image), height=16, width=32, num_frames=9, num_inference_steps=5,
                guidance_scale=3.5),
        extra_components=dict(image_encoder=None, image_processor=None)))

    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"generator": "Tools/reference/config_spread_fixtures.py", "torch": torch.__version__,
                   "prompt": "a red circle moves left on a blue background", "negative_prompt": "blurry, static",
                   "cases": cases}, f, separators=(",", ":"))
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns
                if not os.path.islink(os.path.join(d, n)))
    print(f"fixtures: {total / 1024:.0f} KiB under {os.path.relpath(OUT, ROOT)}")


main()
