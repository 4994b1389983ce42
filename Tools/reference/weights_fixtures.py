#!/usr/bin/env python3
"""Writes the weight-loader fixtures under Tests/Fixtures/weights/ (run with ~/refenv/bin/python).

Tiny models built by the reference code (the official `wan` package from PyPI `wan22`, diffusers,
transformers) are saved in the published layouts: official safetensors, diffusers, ComfyUI
(`model.diffusion_model.` prefix, fp16, fp8-scaled with scale tensors), VAE and umT5 `.pth` files
via torch.save. Hostile pickles and lying safetensors headers are written byte by byte.
`expected.json` records, for every good file, each tensor's dtype, shape and first bytes, as read
back by torch/safetensors, so the Swift tests compare against the reference reader.
"""
import io, json, os, pickle, struct, subprocess, sys, types, zipfile, collections

import torch
from safetensors.torch import save_file, load_file

torch.cuda.current_device = lambda: "cpu"  # wan/modules/t5.py evaluates this at import time
root = os.path.join(os.path.dirname(torch.__file__), "..", "wan")
pkg = types.ModuleType("wan"); pkg.__path__ = [root]; sys.modules["wan"] = pkg
mods = types.ModuleType("wan.modules"); mods.__path__ = [root + "/modules"]; sys.modules["wan.modules"] = mods
from wan.modules.model import WanModel            # noqa: E402
from wan.modules import vae2_1, vae2_2, t5         # noqa: E402
from diffusers import WanTransformer3DModel, AutoencoderKLWan  # noqa: E402
from transformers import UMT5Config, UMT5EncoderModel          # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "weights")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(0)
expected = {}

DTYPE = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
         torch.int64: "i64", torch.int32: "i32", torch.uint8: "u8", torch.bool: "bool",
         torch.float8_e4m3fn: "f8_e4m3", torch.float8_e5m2: "f8_e5m2"}


def flat(state, prefix=""):
    for k, v in state.items():
        if isinstance(v, dict):
            yield from flat(v, prefix + k + ".")
        else:
            yield prefix + k, v


def record(name, state):
    entry = {}
    for k, v in flat(state):
        raw = v.contiguous().flatten().view(torch.uint8)[:16].tolist() if v.numel() else []
        entry[k] = {"dtype": DTYPE[v.dtype], "shape": list(v.shape), "first_bytes": raw}
    expected[name] = entry


def save_st(name, state, metadata=None):
    state = {k: v.contiguous() for k, v in state.items()}
    save_file(state, os.path.join(OUT, name), metadata=metadata)
    record(name, load_file(os.path.join(OUT, name)))


def save_pth(name, state):
    torch.save(state, os.path.join(OUT, name))
    record(name, torch.load(os.path.join(OUT, name), weights_only=True))


# --- DiT: one tiny config in every layout --------------------------------------------------
cfg = dict(model_type="t2v", in_dim=4, dim=32, ffn_dim=48, freq_dim=16, text_dim=24, out_dim=4,
           num_heads=2, num_layers=2, text_len=8)
official = {k: v.detach() for k, v in WanModel(**cfg).state_dict().items()}
save_st("dit_official.safetensors", official)
with open(os.path.join(OUT, "dit_official_config.json"), "w") as f:
    json.dump({"_class_name": "WanModel", "_diffusers_version": "0.33.0", **cfg}, f)

diff = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16,
                             in_channels=4, out_channels=4, text_dim=24, freq_dim=16, ffn_dim=48,
                             num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6)
save_st("dit_diffusers.safetensors", {k: v.detach() for k, v in diff.state_dict().items()})

save_st("dit_comfy_prefixed_fp16.safetensors",
        {"model.diffusion_model." + k: v.half() for k, v in official.items()})

# fp8-scaled as ComfyUI writes it: 2-D block weights in e4m3 with a per-tensor `scale_weight`,
# plus the `scaled_fp8` marker tensor whose dtype names the fp8 format.
scaled = {}
for k, v in official.items():
    if k.startswith("blocks.") and k.endswith(".weight") and v.dim() == 2:
        scale = v.abs().max().float() / 448.0
        scaled[k] = (v / scale).to(torch.float8_e4m3fn)
        scaled[k[:-len("weight")] + "scale_weight"] = scale.reshape(())
    else:
        scaled[k] = v.half()
scaled["scaled_fp8"] = torch.empty(0, dtype=torch.float8_e4m3fn)
save_st("dit_comfy_fp8_scaled.safetensors", scaled)

# I2V-style expert (in_dim 36) and a sharded official checkpoint with its index.
i2v = {k: v.detach() for k, v in WanModel(**{**cfg, "model_type": "i2v", "in_dim": 36}).state_dict().items()}
names = list(i2v)
shards = {"diffusion_pytorch_model-00001-of-00002.safetensors": names[: len(names) // 2],
          "diffusion_pytorch_model-00002-of-00002.safetensors": names[len(names) // 2:]}
weight_map = {}
os.makedirs(os.path.join(OUT, "sharded"), exist_ok=True)
for shard, keys in shards.items():
    save_file({k: i2v[k].contiguous() for k in keys}, os.path.join(OUT, "sharded", shard))
    weight_map.update({k: shard for k in keys})
with open(os.path.join(OUT, "sharded", "diffusion_pytorch_model.safetensors.index.json"), "w") as f:
    json.dump({"metadata": {"total_size": sum(v.numel() * 4 for v in i2v.values())}, "weight_map": weight_map}, f, indent=2)
with open(os.path.join(OUT, "sharded", "config.json"), "w") as f:
    json.dump({"_class_name": "WanModel", **cfg, "model_type": "i2v", "in_dim": 36}, f)
record("sharded", i2v)
bad = dict(weight_map)
moved = names[0]
bad[moved] = "diffusion_pytorch_model-00002-of-00002.safetensors"
with open(os.path.join(OUT, "sharded", "lying.index.json"), "w") as f:
    json.dump({"weight_map": bad}, f)
missing = dict(weight_map)
missing[names[-1]] = "diffusion_pytorch_model-00003-of-00003.safetensors"
with open(os.path.join(OUT, "sharded", "missing_shard.index.json"), "w") as f:
    json.dump({"weight_map": missing}, f)

# --- VAEs: official .pth (torch.save) and diffusers safetensors ----------------------------
vae21 = vae2_1.WanVAE_(dim=2, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                       temperal_downsample=[False, True, True])
save_pth("vae21_official.pth", collections.OrderedDict((k, v.detach().half()) for k, v in vae21.state_dict().items()))
vae22 = vae2_2.WanVAE_(dim=2, dec_dim=2, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                       temperal_downsample=[False, True, True])
save_pth("vae22_official.pth", collections.OrderedDict((k, v.detach().half()) for k, v in vae22.state_dict().items()))
d21 = AutoencoderKLWan(base_dim=2, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                       temperal_downsample=[False, True, True])
save_st("vae21_diffusers.safetensors", {k: v.detach().half() for k, v in d21.state_dict().items()})
d22 = AutoencoderKLWan(base_dim=2, decoder_base_dim=2, z_dim=48, in_channels=12, out_channels=12, patch_size=2,
                       is_residual=True, scale_factor_spatial=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                       attn_scales=[], temperal_downsample=[False, True, True])
save_st("vae22_diffusers.safetensors", {k: v.detach().half() for k, v in d22.state_dict().items()})

# --- umT5 encoder: official .pth (bf16) and HF safetensors ---------------------------------
enc = t5.T5Encoder(vocab=64, dim=16, dim_attn=16, dim_ffn=24, num_heads=2, num_layers=2, num_buckets=8,
                   shared_pos=False, dropout=0.0)
save_pth("umt5_official.pth", collections.OrderedDict((k, v.detach().bfloat16()) for k, v in enc.state_dict().items()))
hf = UMT5EncoderModel(UMT5Config(vocab_size=64, d_model=16, d_kv=8, d_ff=24, num_layers=2, num_heads=2,
                                 relative_attention_num_buckets=8, feed_forward_proj="gated-gelu"))
save_st("umt5_hf.safetensors", {k: v.detach().bfloat16() for k, v in hf.state_dict().items()})

# --- .pth edge cases -------------------------------------------------------------------------
base = torch.arange(24, dtype=torch.float32)
save_pth("views.pth", collections.OrderedDict([("a", base[2:8].view(2, 3)), ("b", base[10:14]),
                                               ("nested", {"c": torch.ones(2, dtype=torch.int64)})]))
torch.save({"transposed": torch.arange(12, dtype=torch.float32).view(3, 4).t()},
           os.path.join(OUT, "noncontiguous.pth"))
torch.save({"w": torch.zeros(2)}, os.path.join(OUT, "legacy_format.pth"), _use_new_zipfile_serialization=False)
with zipfile.ZipFile(os.path.join(OUT, "views.pth")) as src, \
        zipfile.ZipFile(os.path.join(OUT, "deflated.pth"), "w", zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))


# --- hostile pickles: torch.save of objects whose __reduce__ calls something, and raw gadgets --
class Reduce:
    def __init__(self, fn, args): self.fn, self.args = fn, args
    def __reduce__(self): return (self.fn, self.args)


import builtins  # noqa: E402
hostile = {
    "hostile_os_system.pth": Reduce(os.system, ("echo pwned",)),
    "hostile_eval.pth": Reduce(builtins.eval, ("__import__('os').system('echo pwned')",)),
    "hostile_popen.pth": Reduce(subprocess.Popen, (["echo", "pwned"],)),
}
for name, obj in hostile.items():
    torch.save(collections.OrderedDict([("weight", torch.zeros(2)), ("payload", obj)]), os.path.join(OUT, name))

raw = {
    # protocol 0 GLOBAL of posix.system then REDUCE
    "gadget_global_posix.pkl": b"\x80\x02cposix\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.",
    # STACK_GLOBAL builtins.exec
    "gadget_stack_global_exec.pkl": b"\x80\x04\x8c\x08builtins\x8c\x04exec\x93\x8c\x041+1;\x85R.",
    # REDUCE on a plain string pulled from the memo (not a callable we know)
    "gadget_reduce_string.pkl": b"\x80\x02X\x09\x00\x00\x00os.systemq\x000h\x00)R.",
    # REDUCE of an allowed callable with smuggled arguments
    "gadget_ordereddict_args.pkl": b"\x80\x02ccollections\nOrderedDict\n]q\x00(X\x01\x00\x00\x00aK\x01\x86e\x85R.",
    # NEWOBJ (instantiate a class) even for an allowed name
    "gadget_newobj.pkl": b"\x80\x02ccollections\nOrderedDict\n)\x81.",
    # INST opcode (protocol 0 object creation)
    "gadget_inst.pkl": b"(X\x0a\x00\x00\x00echo pwnedios\nsystem\n.",
    # EXT1: global through the copyreg extension registry
    "gadget_ext1.pkl": b"\x80\x02\x82\x01.",
    # _rebuild_tensor_v2 with a string instead of a storage
    "gadget_rebuild_bad_storage.pkl": b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(X\x01\x00\x00\x00sK\x00K\x02\x85K\x01\x85\x89}tR.",
}
for name, data in raw.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
# One of them wrapped in a torch-style zip, so the checkpoint path is exercised too.
with zipfile.ZipFile(os.path.join(OUT, "hostile_raw_gadget.pth"), "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", raw["gadget_stack_global_exec.pkl"])
    z.writestr("archive/version", "3\n")

# --- lying safetensors headers ---------------------------------------------------------------
def st_bytes(header, data, pad=True):
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


good = {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "b": {"dtype": "BF16", "shape": [4], "data_offsets": [16, 24]}}
data = bytes(range(24))
bad_files = {
    "good_handmade.safetensors": st_bytes({**good, "__metadata__": {"format": "pt"}}, data),
    "bad_truncated.safetensors": st_bytes(good, data)[:-5],
    "bad_header_length_huge.safetensors": struct.pack("<Q", 1 << 62) + b"{}",
    "bad_header_length_past_end.safetensors": struct.pack("<Q", 500) + b'{"a":1}',
    "bad_overlap.safetensors": st_bytes({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                                         "b": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]}}, data),
    "bad_size_mismatch.safetensors": st_bytes({"a": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 16]},
                                               "b": {"dtype": "BF16", "shape": [4], "data_offsets": [16, 24]}}, data),
    "bad_unknown_dtype.safetensors": st_bytes({"a": {"dtype": "F12", "shape": [2, 2], "data_offsets": [0, 16]},
                                               "b": good["b"]}, data),
    "bad_offsets_past_end.safetensors": st_bytes({"a": good["a"],
                                                  "b": {"dtype": "BF16", "shape": [8], "data_offsets": [16, 32]}}, data),
    "bad_gap.safetensors": st_bytes({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                     "b": good["b"]}, data),
    "bad_trailing.safetensors": st_bytes({"a": good["a"]}, data),
    "bad_duplicate_key.safetensors": struct.pack("<Q", 0) + b"",
    "bad_not_object.safetensors": st_bytes([1, 2, 3], b""),
    "bad_negative_shape.safetensors": st_bytes({"a": {"dtype": "F32", "shape": [-1, -16], "data_offsets": [0, 16]},
                                                "b": good["b"]}, data),
    "bad_metadata_not_string.safetensors": st_bytes({**good, "__metadata__": {"n": 3}}, data),
}
dup = b'{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}'
bad_files["bad_duplicate_key.safetensors"] = struct.pack("<Q", len(dup)) + dup + data[:16]
for name, blob in bad_files.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)
record("good_handmade.safetensors", load_file(os.path.join(OUT, "good_handmade.safetensors")))

with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print("wrote", len(os.listdir(OUT)), "files to", os.path.normpath(OUT))


# --- real sizes: names and shapes of the published networks, built on the meta device ------
def shapes(module):
    return [[k, list(v.shape)] for k, v in module.state_dict().items()]


with torch.device("meta"):
    real = {
        "ti2v5b_dit": shapes(WanModel(model_type="ti2v", in_dim=48, dim=3072, ffn_dim=14336, freq_dim=256,
                                      text_dim=4096, out_dim=48, num_heads=24, num_layers=30)),
        "vae21": shapes(vae2_1.WanVAE_(dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                                       temperal_downsample=[False, True, True])),
        "vae22": shapes(vae2_2.WanVAE_(dim=160, dec_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
                                       attn_scales=[], temperal_downsample=[False, True, True])),
        "umt5_xxl_encoder": shapes(t5.T5Encoder(vocab=256384, dim=4096, dim_attn=4096, dim_ffn=10240, num_heads=64,
                                                num_layers=24, num_buckets=32, shared_pos=False, dropout=0.0)),
    }
for k, v in real.items():
    total = 0
    for _, s in v:
        n = 1
        for x in s:
            n *= x
        total += n
    print(k, len(v), "tensors", total, "parameters")
with open(os.path.join(OUT, "real_shapes.json"), "w") as f:
    json.dump(real, f, separators=(",", ":"))


# --- ZIP64: the 11.4 GB umT5 .pth needs ZIP64 records; rewrite views.pth with every size and
# offset in ZIP64 extra fields and a ZIP64 end record, then check torch.load reads it the same.
def write_zip64(src_path, dst_path):
    import zlib
    with zipfile.ZipFile(src_path) as src:
        entries = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        nb = name.encode()
        crc = zlib.crc32(data)
        offset = len(out)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        pad = (-(offset + 30 + len(nb) + len(extra) + 4)) % 64  # 64-byte aligned data, as torch.save does
        extra += struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra))
        out += nb + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += nb + cextra
    cd_offset = len(out)
    out += central
    eocd64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst_path, "wb") as f:
        f.write(out)


write_zip64(os.path.join(OUT, "views.pth"), os.path.join(OUT, "views_zip64.pth"))
z64 = torch.load(os.path.join(OUT, "views_zip64.pth"), weights_only=True)
ref = torch.load(os.path.join(OUT, "views.pth"), weights_only=True)
assert torch.equal(z64["a"], ref["a"]) and torch.equal(z64["b"], ref["b"]) and torch.equal(z64["nested"]["c"], ref["nested"]["c"])
with zipfile.ZipFile(os.path.join(OUT, "views_zip64.pth")) as z:
    assert z.testzip() is None
record("views_zip64.pth", z64)
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print("zip64 copy of views.pth loads in torch identically")
