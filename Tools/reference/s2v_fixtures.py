#!/usr/bin/env python3
"""Reference fixtures for Wand's speech-to-video (S2V) path, under Tests/Fixtures/s2v/.

Audio (stage "audio"):
  Two tiny random transformers `Wav2Vec2ForCTC`s with the real convolution geometry (kernels
  10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2: 50 feature frames a second):
    w2v_stable  the XLSR-53 large geometry S2V ships (feat_extract_norm layer, stable layer norm,
                final LayerNorm), 24 layers so the 25 hidden states S2V averages exist; hidden 16.
                Stored as Wav2Vec2ForCTC keys with the weight-norm factors named weight_g/weight_v,
                as the real checkpoint stores them.
    w2v_base    the base geometry (feat_extract_norm group, post-LN layers), 3 layers, stored
                as Wav2Vec2Model keys in transformers 5's parametrizations.weight.original0/1 form.
  Weights are rounded to f16 and stored as f16; both sides compute in f32.
  audio.safetensors: the 16 kHz input (f16-rounded samples, stored f16); per model a few hidden
  states in the semantics of transformers 4.x, which the official S2V code was written for (the
  last stable-LN state is after the final LayerNorm; transformers 5 returns it raw, next-modes §1);
  and the official `AudioEncoder` post-processing (50 -> 30 Hz interpolation, buckets at 16 fps
  for 16-frame clips) of the stable model; the bucket indices for 80-frame clips.

DiT (stage "dit"):
  A tiny random official `WanModel_S2V` (dim 32, 2 heads, 3 blocks, audio injector after blocks
  0 and 2 with AdaIN, frame-pack motion "padd", zero timestep, cond_dim 16, audio_dim 16),
  saved as an official folder `dit/` (config.json + diffusion_pytorch_model.safetensors). Weights
  are rounded to their stored dtype: the frame-pack 2x/4x projections (most of the parameters)
  to fp8 e4m3, the rest to f16. dit_io.safetensors: inputs and the official forward's output for
  a clip with motion and pose at t = 937 (cond) and the first clip (motion tokens dropped, no
  pose, audio zeroed as in the CFG pass) at t = 500. flash_attention is replaced by exact float32
  softmax attention (no masking is needed: one sample, full lengths). save_config leaves
  text_dim out of config.json; the tiny model's 32 is written in.

Real sizes (stage "real"): the names and shapes of the published S2V-14B DiT (`WanModel_S2V`
with wan/configs/wan_s2v_14B.py's transformer config) and of wav2vec2-large-xlsr-53-english
(`Wav2Vec2ForCTC`, vocabulary 33), built on torch's meta device, in real_shapes.json: per model
the tensors outside the repeated blocks, one block's tensors, and the block count (the script
checks that expanding them gives back the state dict exactly), plus the parameter counts.

Pipeline (stage "pipeline"): the official `WanS2V.generate` end to end on CPU with the tiny
parts, with 9 motion frames instead of the config's 73 (the pipeline config's value, passed to
every forward; the frame packer zero-pads the 3 latents to 19): the DiT above, the tiny official Wan2.1 VAE of Tests/Fixtures/vae/vae21_official.pth (dim
4, reused, not copied), the w2v_stable encoder and the audio above (1.6 s: 4 clips of 8 frames,
capped at 2 with num_repeat), a 64x64 reference image and, in one of the two cases, a 12-frame
pose video (shorter than the 16 frames two clips need, so the official -1 padding runs). UniPC,
4 steps, shift 3, guidance 4.5, seed 7. The object is made without __init__ (which hard-codes CUDA): text contexts are
fixed random rows (the umT5 encoder is tested elsewhere), librosa.load returns the samples,
read_last_n_frames returns the pose frames, autocast is off on CPU and the noise is torch.randn
on a CPU generator in float32 (the official run draws bf16 noise on CUDA, which no CPU can
reproduce). Images are procedural integers the Swift test makes the same way.
pipeline.safetensors: per case the final latents of each clip (what the VAE decodes after the
motion or reference latents) and the last decoded frame of each clip; the text rows.

    ~/refenv/bin/python Tools/reference/s2v_fixtures.py [audio] [dit] [real] [pipeline]
"""
import json, math, os, sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def hide_broken_torchvision():
    """The refenv's torchvision (0.29.2) does not match its torch (2.13): importing it fails
    ("operator torchvision::nms does not exist"), and transformers imports it whenever it is
    installed. Hide it from transformers, and give wan.speech2video a stand-in whose Resize,
    CenterCrop and ToTensor refuse anything but the identity resize/crop these fixtures use."""
    try:
        import torchvision  # noqa: F401
        return
    except Exception:
        for k in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[k]
    import importlib.machinery, types
    import transformers.utils as tu
    import transformers.utils.import_utils as iu
    iu.is_torchvision_available = tu.is_torchvision_available = lambda: False

    def size_of(img):
        return (img.shape[-2], img.shape[-1]) if torch.is_tensor(img) else (img.size[1], img.size[0])

    class Resize:
        def __init__(self, size):
            self.size = size

        def __call__(self, img):
            assert min(size_of(img)) == self.size, ("the stand-in resizes nothing", size_of(img), self.size)
            return img

    class CenterCrop:
        def __init__(self, size):
            self.size = tuple(size)

        def __call__(self, img):
            assert size_of(img) == self.size, ("the stand-in crops nothing", size_of(img), self.size)
            return img

    class ToTensor:
        def __call__(self, pic):
            return torch.from_numpy(np.array(pic, dtype=np.uint8)).permute(2, 0, 1).float() / 255

    tv = types.ModuleType("torchvision")
    tv.__spec__ = importlib.machinery.ModuleSpec("torchvision", None)
    tr = types.ModuleType("torchvision.transforms")
    tr.Resize, tr.CenterCrop, tr.ToTensor = Resize, CenterCrop, ToTensor
    fn = types.ModuleType("torchvision.transforms.functional")
    tv.transforms, tr.functional = tr, fn
    sys.modules.update({"torchvision": tv, "torchvision.transforms": tr, "torchvision.transforms.functional": fn})


hide_broken_torchvision()  # before wan_cpu, which stubs packages that fail to import (peft imports torchvision)
import wan_cpu  # noqa: F401  (must precede the wan imports)
import diffusers  # noqa: F401  (before the stubs hide librosa from its import-time probe)
from safetensors.torch import save_file
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

torch.set_num_threads(1)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "s2v")
os.makedirs(OUT, exist_ok=True)
CONV = dict(conv_dim=[8] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2])


def rel(a, b):
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                base = 1.0 if ("norm" in name and name.endswith("weight")) else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=g) * (1.5 / max(fan_in, 1)) ** 0.5)
            p.copy_(p.half().float())  # the stored values


def wav2vec(stable, seed):
    torch.manual_seed(seed)
    if stable:
        cfg = Wav2Vec2Config(hidden_size=16, num_hidden_layers=24, num_attention_heads=2, intermediate_size=32,
                             conv_bias=True, feat_extract_norm="layer", do_stable_layer_norm=True,
                             num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, vocab_size=8, **CONV)
    else:
        cfg = Wav2Vec2Config(hidden_size=16, num_hidden_layers=3, num_attention_heads=4, intermediate_size=24,
                             conv_bias=False, feat_extract_norm="group", do_stable_layer_norm=False,
                             num_conv_pos_embeddings=7, num_conv_pos_embedding_groups=2, vocab_size=8, **CONV)
    m = Wav2Vec2ForCTC(cfg).eval()
    randomize(m, seed)
    return m


def hidden_states_v4(model, x):
    """Every hidden state as transformers 4.x returns them, computed by hand and checked against
    transformers 5's own outputs (which differ only in the last stable-LN entry)."""
    w = model.wav2vec2
    enc = w.encoder
    with torch.no_grad():
        feats = w.feature_extractor(x).transpose(1, 2)
        h, _ = w.feature_projection(feats)
        h = h + enc.pos_conv_embed(h)
        stable = model.config.do_stable_layer_norm
        if not stable:
            h = enc.layer_norm(h)
        states = [h]
        for layer in enc.layers:
            h = layer(h)
            states.append(h)
        out5 = model(x, output_hidden_states=True)
        hs5 = out5.hidden_states
        assert len(hs5) == len(states)
        for i, (a, b) in enumerate(zip(hs5, states)):
            assert rel(a, b) < 1e-6, (i, rel(a, b))
        if stable:
            states[-1] = enc.layer_norm(h)
            assert rel(states[-1], w(x).last_hidden_state) < 1e-6
            print("transformers 5: last hidden state differs from the 4.x one (LayerNorm) by rel",
                  f"{rel(hs5[-1], states[-1]):.3f}")
    return [s[0] for s in states]


def save_wav2vec(model, name, old_weight_norm, prefix):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    cfg = model.config.to_dict()
    keep = ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
            "feat_extract_activation", "feat_extract_norm", "do_stable_layer_norm", "conv_dim", "conv_kernel",
            "conv_stride", "conv_bias", "num_conv_pos_embeddings", "num_conv_pos_embedding_groups",
            "layer_norm_eps", "vocab_size", "model_type", "architectures"]
    cfg["architectures"] = ["Wav2Vec2ForCTC"]
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({k: cfg[k] for k in keep if k in cfg}, f, indent=1)
    tensors = {}
    for k, v in model.state_dict().items():
        if not prefix:
            if not k.startswith("wav2vec2."):
                continue
            k = k[len("wav2vec2."):]
        if old_weight_norm:
            k = k.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1", "weight_v")
        tensors[k] = v.half().contiguous()
    save_file(tensors, os.path.join(d, "model.safetensors"))


def test_audio(n):
    g = np.random.default_rng(11)
    t = np.arange(n) / 16000.0
    # Speech-like: a few harmonics under a syllable-rate envelope, plus a little noise.
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * t) ** 2
    f0 = 140 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / 16000.0
    x = sum(np.sin(k * phase) / k for k in range(1, 6)) * env * 0.3 + 0.01 * g.standard_normal(n)
    return torch.from_numpy(x.astype(np.float32)).half().float()


def audio_stage():
    from wan.modules.s2v import audio_encoder as ae

    samples = test_audio(25600)  # 1.6 s: 79 feature frames at 50 Hz, 47 at 30 Hz, 2 clips of 16 frames
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=False)
    iv = fe(samples.numpy(), sampling_rate=16000, return_tensors="pt").input_values
    out = {"samples": samples.half()}

    stable = wav2vec(True, 31)
    states = hidden_states_v4(stable, iv)
    print("w2v_stable: input", tuple(iv.shape), "frames", states[0].shape[0])
    for i in (0, 1, 12, 23, 24):
        out[f"stable.hidden.{i}"] = states[i].contiguous()
    save_wav2vec(stable, "w2v_stable", old_weight_norm=True, prefix=True)

    base = wav2vec(False, 32)
    iv_short = fe(samples[:8000].numpy(), sampling_rate=16000, return_tensors="pt").input_values
    bstates = hidden_states_v4(base, iv_short)
    for i, s in enumerate(bstates):
        out[f"base.hidden.{i}"] = s.contiguous()
    save_wav2vec(base, "w2v_base", old_weight_norm=False, prefix=False)

    # The official post-processing, driven through AudioEncoder with the tiny model. librosa.load
    # is replaced by the samples above (already 16 kHz mono); the model returns the 4.x states.
    class V4Model:
        device = torch.device("cpu")

        def __call__(self, x, output_hidden_states=True):
            class R:
                pass
            r = R()
            r.hidden_states = tuple(s.unsqueeze(0) for s in hidden_states_v4(stable, x))
            return r

    enc = ae.AudioEncoder.__new__(ae.AudioEncoder)
    enc.processor, enc.model, enc.video_rate = fe, V4Model(), 30
    ae.librosa.load = lambda path, sr=16000: (samples.numpy(), 16000)
    z = enc.extract_audio_feat("speech.wav", return_all_layers=True)
    print("interpolated features", tuple(z.shape))
    emb16, nr16 = enc.get_audio_embed_bucket_fps(z, fps=16, batch_frames=16, m=0)
    emb80, nr80 = enc.get_audio_embed_bucket_fps(z, fps=16, batch_frames=80, m=0)
    print("buckets 16-frame clips", tuple(emb16.shape), nr16, "| 80-frame clips", tuple(emb80.shape), nr80)
    out["stable.buckets16"] = emb16.contiguous()  # [clips·16, 25, 16]
    # Which 30 Hz frame each of the 80-frame buckets took (or -1 for a zero frame).
    idx = []
    for i in range(emb80.shape[0]):
        row = emb80[i]
        hits = [j for j in range(z.shape[1]) if torch.equal(row, z[:, j])]
        idx.append(hits[0] if hits and row.abs().sum() > 0 else -1)
    out["stable.bucket80_index"] = torch.tensor(idx, dtype=torch.int64)
    save_file(out, os.path.join(OUT, "audio.safetensors"))
    with open(os.path.join(OUT, "audio.json"), "w") as f:
        json.dump({"generator": "Tools/reference/s2v_fixtures.py", "torch": torch.__version__,
                   "interpolated_frames": int(z.shape[1]), "clips16": int(nr16), "clips80": int(nr80),
                   "stable_frames": int(states[0].shape[0]), "base_frames": int(bstates[0].shape[0]),
                   "base_samples": 8000}, f, indent=1)


def exact_attention(q, k, v, q_lens=None, k_lens=None, **_):
    # q [B, Lq, N, C]; every key length is the full length (one sample; the injector's frames), so nothing is masked.
    assert k_lens is None or bool((k_lens == k.shape[1]).all()), k_lens
    qh, kh, vh = (u.transpose(1, 2).float() for u in (q, k, v))
    s = (qh @ kh.transpose(-1, -2)) / math.sqrt(q.size(-1))
    return (s.softmax(-1) @ vh).transpose(1, 2).contiguous()


S2V_TINY = dict(cond_dim=16, audio_dim=16, num_audio_token=4, enable_adain=True, adain_mode="attn_norm",
                audio_inject_layers=[0, 2], zero_init=False, zero_timestep=True, enable_motioner=False,
                add_last_motion=True, enable_tsm=False, trainable_token_pos_emb=False, enable_framepack=True,
                framepack_drop_mode="padd", model_type="s2v", patch_size=(1, 2, 2), text_len=16, in_dim=16,
                dim=32, ffn_dim=64, freq_dim=64, text_dim=32, out_dim=16, num_heads=2, num_layers=3,
                window_size=(-1, -1), qk_norm=True, cross_attn_norm=True, eps=1e-6)
FP8 = ("frame_packer.proj_2x.weight", "frame_packer.proj_4x.weight")


def s2v_model():
    import wan.modules.model as wan_model
    import wan.modules.s2v.model_s2v as ms
    wan_model.flash_attention = ms.flash_attention = exact_attention
    torch.manual_seed(40)
    m = ms.WanModel_S2V(**S2V_TINY).eval()
    g = torch.Generator().manual_seed(41)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if p.dim() == 1 or name.endswith("padding_tokens") or "modulation" in name or name.endswith(".weights"):
                base = 1.0 if (name.endswith("norm_q.weight") or name.endswith("norm_k.weight") or "norm3.weight" in name) else 0.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            stored = torch.float8_e4m3fn if name in FP8 else torch.float16
            p.copy_(p.to(stored).float())
    return m


def save_dit(m):
    d = os.path.join(OUT, "dit")
    os.makedirs(d, exist_ok=True)
    m.save_config(d)
    # save_config leaves text_dim out (ignore_for_config), and the official loader then takes 4096;
    # the tiny model's 32 is written in so that the folder describes the weights.
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    cfg["text_dim"] = S2V_TINY["text_dim"]
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1, sort_keys=True)
    tensors = {}
    for k, v in m.state_dict().items():
        tensors[k] = v.to(torch.float8_e4m3fn if k in FP8 else torch.float16).contiguous()
    save_file(tensors, os.path.join(d, "diffusion_pytorch_model.safetensors"))
    print("tiny S2V DiT:", sum(v.numel() for v in tensors.values()), "parameters in", len(tensors), "tensors")


def dit_stage():
    m = s2v_model()
    save_dit(m)
    g = torch.Generator().manual_seed(42)
    F, H, W = 2, 8, 8
    io = {
        "latent": torch.randn(16, F, H, W, generator=g),
        "reference": torch.randn(16, 1, H, W, generator=g),
        "motion": torch.randn(16, 19, H, W, generator=g),
        "pose": torch.randn(16, F, H, W, generator=g),
        "audio": torch.randn(4 * F, 25, 16, generator=g),  # [frames, layers, dim] as S2VAudioEmbedding holds it
        "context": torch.randn(7, 32, generator=g),
    }
    io = {k: v.half().float() for k, v in io.items()}  # inputs stored as f16
    audio_official = io["audio"].permute(1, 2, 0).unsqueeze(0)  # [1, 25, 16, frames]
    cases = [("motion_pose", 937.0, False, True, 1.0), ("first_clip_uncond", 500.0, True, False, 0.0)]
    with torch.no_grad():
        for name, t, drop, with_pose, audio_scale in cases:
            pose = io["pose"] if with_pose else torch.zeros_like(io["pose"])
            out = m([io["latent"]], t=torch.tensor([t]), context=[io["context"]], seq_len=None,
                    ref_latents=[io["reference"]], motion_latents=[io["motion"]], cond_states=[pose],
                    audio_input=audio_scale * audio_official, motion_frames=[73, 19], drop_motion_frames=drop)[0]
            io[f"{name}.out"] = out.contiguous()
            print(f"DiT {name}: t {t}, out {tuple(out.shape)} |out| {out.abs().mean():.3f}")
    save_file({k: (v if k.endswith(".out") else v.half()).contiguous() for k, v in io.items()},
              os.path.join(OUT, "dit_io.safetensors"))


def compact(state, block_prefix):
    """{"other": [[name, shape]...], "block": [[suffix, shape]...], "blocks": n} for a state dict
    whose `block_prefix.N.` tensors repeat; checked to expand back to the same dict."""
    other, blocks = [], {}
    for k, v in state.items():
        if k.startswith(block_prefix):
            n, rest = k[len(block_prefix):].split(".", 1)
            blocks.setdefault(int(n), []).append([rest, list(v.shape)])
        else:
            other.append([k, list(v.shape)])
    template = blocks[0]
    assert all(blocks[n] == template for n in blocks), "blocks differ"
    expanded = {k: s for k, s in other}
    for n in blocks:
        for rest, sh in template:
            expanded[f"{block_prefix}{n}.{rest}"] = sh
    assert expanded == {k: list(v.shape) for k, v in state.items()}
    return {"other": other, "block_prefix": block_prefix, "block": template, "blocks": len(blocks),
            "parameters": sum(v.numel() for v in state.values()), "tensors": len(state)}


def real_stage():
    import wan.modules.s2v.model_s2v as ms
    from wan.configs.wan_s2v_14B import s2v_14B
    cfg = dict(s2v_14B.transformer)
    cfg.pop("__name__", None)
    for k in ("motion_frames", "trainable_token", "qk_norm", "cross_attn_norm", "window_size", "patch_size"):
        cfg.pop(k, None)
    with torch.device("meta"):
        dit = ms.WanModel_S2V(model_type="s2v", **cfg)
        w2v = Wav2Vec2ForCTC(Wav2Vec2Config(
            vocab_size=33, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
            feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True, num_conv_pos_embeddings=128,
            num_conv_pos_embedding_groups=16, **{k: v for k, v in CONV.items() if k != "conv_dim"}, conv_dim=[512] * 7))
    out = {"s2v_14b_dit": compact(dit.state_dict(), "blocks."),
           "wav2vec2_large_xlsr_53": compact(w2v.state_dict(), "wav2vec2.encoder.layers.")}
    for k, v in out.items():
        print(k, v["tensors"], "tensors", v["parameters"], "parameters")
    with open(os.path.join(OUT, "real_shapes.json"), "w") as f:
        json.dump({"generator": "Tools/reference/s2v_fixtures.py real", **out}, f, separators=(",", ":"))


def reference_image(h, w):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(4 * x + y) % 256, (4 * y + 3 * x) % 256, (x * y) % 256], -1).astype(np.uint8)


def pose_frames(n, h, w):
    out = np.zeros((n, h, w, 3), np.uint8)
    for f in range(n):
        top, left = (8 + 2 * f) % (h - 12), (20 + f) % (w - 12)
        out[f, top:top + 12, left:left + 12] = (255, 200 - 4 * f, 40 + 5 * f)
    return out


def pipeline_stage():
    import wan.speech2video as sv
    from wan.modules import vae2_1
    from wan.modules.s2v import audio_encoder as ae
    from wan.configs.wan_s2v_14B import s2v_14B
    from PIL import Image
    import tempfile

    samples = test_audio(25600)
    fe = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                  return_attention_mask=False)
    stable = wav2vec(True, 31)

    class V4Model:
        device = torch.device("cpu")

        def __call__(self, x, output_hidden_states=True):
            class R:
                pass
            r = R()
            r.hidden_states = tuple(s.unsqueeze(0) for s in hidden_states_v4(stable, x))
            return r

    enc = ae.AudioEncoder.__new__(ae.AudioEncoder)
    enc.processor, enc.model, enc.video_rate = fe, V4Model(), 30
    ae.librosa.load = lambda path, sr=16000: (samples.numpy(), 16000)

    vae = vae2_1.Wan2_1_VAE.__new__(vae2_1.Wan2_1_VAE)
    vae.dtype, vae.device = torch.float32, "cpu"
    vae.mean = torch.tensor([-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                             0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921])
    vae.std = torch.tensor([2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                            3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160])
    vae.scale = [vae.mean, 1.0 / vae.std]
    vae.model = vae2_1.WanVAE_(dim=4, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                               temperal_downsample=[False, True, True]).eval()
    vae.model.load_state_dict(torch.load(os.path.join(ROOT, "Tests", "Fixtures", "vae", "vae21_official.pth")))

    g = torch.Generator().manual_seed(50)
    ctx = torch.randn(7, 32, generator=g).half().float()
    ctx_null = torch.randn(5, 32, generator=g).half().float()
    prompt, negative = "a person talks", "blurry"

    class Text:
        def __call__(self, texts, device):
            return [{prompt: ctx, negative: ctx_null}[texts[0]]]

    pipe = sv.WanS2V.__new__(sv.WanS2V)
    pipe.device, pipe.config, pipe.rank, pipe.t5_cpu, pipe.init_on_cpu = torch.device("cpu"), s2v_14B, 0, True, False
    pipe.num_train_timesteps, pipe.param_dtype = 1000, torch.float32
    pipe.text_encoder, pipe.vae, pipe.noise_model, pipe.audio_encoder = Text(), vae, s2v_model(), enc
    # 9 motion frames (3 latents) instead of the config's 73 keep the VAE work of the Swift test
    # small; the frame packer pads them to its 19 as it would any short history.
    pipe.sp_size, pipe.sample_neg_prompt, pipe.motion_frames = 1, s2v_14B.sample_neg_prompt, 9
    pipe.drop_first_motion, pipe.fps, pipe.audio_sample_m = True, 16, 0

    pose = pose_frames(12, 64, 64)
    sv.WanS2V.read_last_n_frames = lambda self, path, n_frames, target_fps=16, reverse=False: pose[:n_frames]
    tmp = tempfile.mkdtemp()
    ref_path = os.path.join(tmp, "ref.png")
    Image.fromarray(reference_image(64, 64)).save(ref_path)

    out = {"context": ctx.half(), "context_null": ctx_null.half()}
    cases = {}
    for name, pose_video in (("no_pose", None), ("pose", "pose.mp4")):
        decoded = []
        orig = vae.decode

        def spy(zs):
            decoded.append(zs[0].clone())
            return orig(zs)

        vae.decode = spy
        with torch.no_grad():
            video = pipe.generate(prompt, ref_path, "speech.wav", enable_tts=False, tts_prompt_audio=None,
                                  tts_prompt_text=None, tts_text=None, num_repeat=2, pose_video=pose_video,
                                  max_area=64 * 64, infer_frames=8, shift=3.0, sample_solver="unipc",
                                  sampling_steps=4, guide_scale=4.5, n_prompt=negative, seed=7,
                                  offload_model=False, init_first_frame=False)
        vae.decode = orig
        assert len(decoded) == 2, len(decoded)
        ends = []
        for r, z in enumerate(decoded):
            out[f"{name}.clip{r}.latents"] = z[:, -2:].contiguous()  # [16, 2, 8, 8]
        # Clip 0 keeps 5 frames (8 minus the 3 dropped), clip 1 keeps 8.
        assert video.shape[1] == 5 + 8, video.shape
        for r, last in enumerate((4, 12)):
            out[f"{name}.clip{r}.last_frame"] = video[:, last].half().contiguous()  # [3, 64, 64] in [-1, 1]
            ends.append(last)
        cases[name] = {"frames": int(video.shape[1]), "last_frames": ends}
        print(f"pipeline {name}: video {tuple(video.shape)}, |latents| clip0",
              f"{decoded[0][:, -2:].abs().mean():.3f} clip1 {decoded[1][:, -2:].abs().mean():.3f}")
    save_file(out, os.path.join(OUT, "pipeline.safetensors"))
    with open(os.path.join(OUT, "pipeline.json"), "w") as f:
        json.dump({"generator": "Tools/reference/s2v_fixtures.py pipeline", "torch": torch.__version__,
                   "prompt": prompt, "negative_prompt": negative, "size": [64, 64], "frames_per_clip": 8, "motion_frames": 9, "clips": 2,
                   "sampler": "unipc", "steps": 4, "shift": 3.0, "guidance": 4.5, "seed": 7,
                   "pose_frames": 12, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    stages = sys.argv[1:] or ["audio", "dit", "real", "pipeline"]
    if "pipeline" in stages:
        pipeline_stage()
    if "real" in stages:
        real_stage()
    if "audio" in stages:
        audio_stage()
    if "dit" in stages:
        dit_stage()
