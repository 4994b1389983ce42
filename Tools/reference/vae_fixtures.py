#!/usr/bin/env python3
"""Writes the VAE parity fixtures under Tests/Fixtures/vae/ (run with ~/refenv/bin/python).

Tiny random configs of the official Wan2.1 VAE (wan.modules.vae2_1.WanVAE_) and Wan2.2 VAE
(wan.modules.vae2_2.WanVAE_, with its 2x2 patchify), with the real z_dim (16 / 48) so the
published latent mean/std constants apply, small channel widths (dim 4 for 2.1, 3 for 2.2) and tiny non-square frames.
For each VAE:
  <name>_official.pth           torch.save of the official state dict (as Wan2.x_VAE.pth)
  <name>_diffusers.safetensors  the same weights in diffusers AutoencoderKLWan key layout
  <name>_io.safetensors         encode inputs (video [3,T,H,W], T = 1, 17, 33) and the official
                                chunked encode's normalized mu; decode inputs (normalized latents
                                of 1, 5, 9 frames) and the official per-frame cached decode, clamped.
The script checks that diffusers, loaded with the converted keys, gives the same outputs.
"""
import os, sys, collections

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_cpu  # noqa: F401  (must come before `import wan`)
import torch
from safetensors.torch import save_file
from wan.modules import vae2_1, vae2_2
from wan.modules.vae2_1 import Wan2_1_VAE  # noqa: F401  (constants come from the classes below)
from diffusers import AutoencoderKLWan

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "vae")
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(2)

MEAN21 = [-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
          0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921]
STD21 = [2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
         3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160]
MEAN22 = [-0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557,
          -0.1382, 0.0542, 0.2813, 0.0891, 0.1570, -0.0098, 0.0375, -0.1825,
          -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
          -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.1230,
          -0.0313, -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.0520, 0.3748,
          0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667]
STD22 = [0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013,
         0.8158, 1.0344, 0.5894, 1.0901, 0.6885, 0.6165, 0.8454, 0.4978,
         0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
         0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093,
         0.5709, 0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458, 1.6887,
         0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744]


def randomize(model, seed):
    """Default inits, but the norms' gamma and the zero-initialized attention proj made random so
    every weight matters; conv weights scaled so activations stay O(1) through the stack."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / fan_in) ** 0.5)


def resnet_key(tail):
    ren = {"residual.0": "norm1", "residual.2": "conv1", "residual.3": "norm2", "residual.6": "conv2",
           "shortcut": "conv_shortcut"}
    for a, b in ren.items():
        if tail.startswith(a + "."):
            return b + tail[len(a):]
    return tail


def official_to_diffusers(k, version):
    p = k.split(".")
    if p[0] == "conv1":
        return "quant_conv." + ".".join(p[1:])
    if p[0] == "conv2":
        return "post_quant_conv." + ".".join(p[1:])
    side = p[0]
    if p[1] == "conv1":
        return f"{side}.conv_in." + ".".join(p[2:])
    if p[1] == "head":
        return f"{side}.{'norm_out' if p[2] == '0' else 'conv_out'}." + ".".join(p[3:])
    if p[1] == "middle":
        tail = ".".join(p[3:])
        if p[2] == "1":
            return f"{side}.mid_block.attentions.0." + tail
        return f"{side}.mid_block.resnets.{0 if p[2] == '0' else 1}." + resnet_key(tail)
    if side == "encoder":
        i = int(p[2])
        if version == "2.1":
            tail = ".".join(p[3:])
            if p[3] in ("resample", "time_conv"):
                return f"encoder.down_blocks.{i}." + tail
            return f"encoder.down_blocks.{i}." + resnet_key(tail)
        j = int(p[4]); tail = ".".join(p[5:])
        if p[5] in ("resample", "time_conv"):
            return f"encoder.down_blocks.{i}.downsampler." + tail
        return f"encoder.down_blocks.{i}.resnets.{j}." + resnet_key(tail)
    if version == "2.1":
        n = int(p[2]); i, j = divmod(n, 4); tail = ".".join(p[3:])
        if j == 3:
            return f"decoder.up_blocks.{i}.upsamplers.0." + tail
        return f"decoder.up_blocks.{i}.resnets.{j}." + resnet_key(tail)
    i = int(p[2]); j = int(p[4]); tail = ".".join(p[5:])
    if p[5] in ("resample", "time_conv"):
        return f"decoder.up_blocks.{i}.upsampler." + tail
    return f"decoder.up_blocks.{i}.resnets.{j}." + resnet_key(tail)


def build(version):
    common = dict(dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[], temperal_downsample=[False, True, True])
    if version == "2.1":
        model = vae2_1.WanVAE_(dim=4, z_dim=16, **common)
        mean, std = MEAN21, STD21
        diff = AutoencoderKLWan(base_dim=4, z_dim=16, latents_mean=mean, latents_std=std, **common)
    else:
        model = vae2_2.WanVAE_(dim=3, dec_dim=3, z_dim=48, **common)
        mean, std = MEAN22, STD22
        diff = AutoencoderKLWan(base_dim=3, decoder_base_dim=3, z_dim=48, in_channels=12, out_channels=12,
                                patch_size=2, is_residual=True, scale_factor_spatial=16,
                                latents_mean=mean, latents_std=std, **common)
    randomize(model, 21 if version == "2.1" else 22)
    model.eval(); diff.eval()
    state = model.state_dict()
    dstate = diff.state_dict()
    converted = {}
    for k, v in state.items():
        dk = official_to_diffusers(k, version)
        assert dk in dstate, (k, dk)
        converted[dk] = v.reshape(dstate[dk].shape).clone()
    missing = set(dstate) - set(converted)
    assert not missing, sorted(missing)[:10]
    diff.load_state_dict(converted, strict=True)
    return model, diff, torch.tensor(mean), torch.tensor(std), converted


def rel(a, b):
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def run(version, name, hw):
    model, diff, mean, std, converted = build(version)
    torch.save(collections.OrderedDict((k, v.contiguous()) for k, v in model.state_dict().items()),
               os.path.join(OUT, f"{name}_official.pth"))
    save_file({k: v.contiguous() for k, v in converted.items()}, os.path.join(OUT, f"{name}_diffusers.safetensors"))
    scale = [mean, 1.0 / std]
    g = torch.Generator().manual_seed(7 if version == "2.1" else 8)
    io = {}
    prefix = {}
    h, w = hw
    with torch.no_grad():
        # Causality: encoding the first 1 or 17 frames gives the first 1 or 5 latents of the 33-frame
        # encode, and decoding the first 1 or 5 latents gives the first 1 or 17 frames of the 9-latent
        # decode. Each length is run through the reference separately, checked to be that prefix,
        # and only the longest input/output is stored (the Swift tests slice the prefixes).
        video = torch.rand(3, 33, h, w, generator=g) * 2 - 1
        for t in (1, 17, 33):
            mu = model.encode(video[:, :t].unsqueeze(0), scale).float().squeeze(0)
            dmu = (diff.encode(video[:, :t].unsqueeze(0)).latent_dist.mode().squeeze(0) - mean.view(-1, 1, 1, 1)) / std.view(-1, 1, 1, 1)
            print(f"{name} encode T={t}: mu {tuple(mu.shape)} |mu| {mu.abs().mean():.3f} diffusers rel {rel(dmu, mu):.2e}")
            assert rel(dmu, mu) < 1e-5
            io[f"encode_out_{t}"] = mu.contiguous()
        io["encode_in"] = video.contiguous()
        z = torch.randn(mu.shape[0], 9, h // (8 if version == "2.1" else 16), w // (8 if version == "2.1" else 16), generator=g)
        for f in (1, 5, 9):
            x = model.decode(z[:, :f].unsqueeze(0), scale).float().clamp_(-1, 1).squeeze(0)
            dz = z[:, :f] * std.view(-1, 1, 1, 1) + mean.view(-1, 1, 1, 1)
            dx = diff.decode(dz.unsqueeze(0)).sample.clamp(-1, 1).squeeze(0)
            sat = (x.abs() >= 1).float().mean().item()
            print(f"{name} decode F={f}: x {tuple(x.shape)} saturated {sat:.2%} diffusers rel {rel(dx, x):.2e}")
            assert rel(dx, x) < 1e-5
            if f < 9:
                prefix[f] = x
        io["decode_in"] = z.contiguous()
        io["decode_out"] = x.contiguous()
        for f, xf in prefix.items():
            r = rel(x[:, :xf.shape[1]], xf)
            print(f"{name} decode prefix F={f} vs F=9 run: rel {r:.2e}")
            assert r < 1e-5  # float summation order only (different conv shapes)
    save_file(io, os.path.join(OUT, f"{name}_io.safetensors"))


run("2.1", "vae21", (16, 24))
run("2.2", "vae22", (32, 48))
