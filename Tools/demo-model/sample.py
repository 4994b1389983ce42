"""Sample the demo model in PyTorch (diffusers' UniPC, the same text path as training), to tell a
training problem from an engine problem.
    ~/refenv/bin/python Tools/demo-model/sample.py MODEL_DIR "a red circle moves left on a blue background" out.png
"""
import os
import sys

import numpy as np
import sentencepiece as spm
import torch
from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel
from PIL import Image
from transformers import UMT5EncoderModel

sys.path.insert(0, os.path.dirname(__file__))
from train_dit import encode_text  # noqa: E402


def sample(model, prompt, seed=1, steps=16, guidance=5.0, frames=17, height=160, width=256):
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model, "tokenizer", "spiece.model"))
    te = UMT5EncoderModel.from_pretrained(os.path.join(model, "text_encoder")).float().eval()
    dit = WanTransformer3DModel.from_pretrained(os.path.join(model, "transformer")).float().eval()
    vae = AutoencoderKLWan.from_pretrained(os.path.join(model, "vae")).float().eval()
    sched = UniPCMultistepScheduler.from_pretrained(os.path.join(model, "scheduler"))
    sched.set_timesteps(steps)
    with torch.no_grad():
        cond, uncond = encode_text(sp, te, [prompt]), encode_text(sp, te, [""])
        shape = (1, 48, (frames - 1) // 4 + 1, height // 16, width // 16)
        x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        for t in sched.timesteps:
            ts = torch.full((1, shape[2] * shape[3] * shape[4] // 4), float(t))
            c = dit(hidden_states=x, timestep=ts, encoder_hidden_states=cond, return_dict=False)[0]
            u = dit(hidden_states=x, timestep=ts, encoder_hidden_states=uncond, return_dict=False)[0]
            x = sched.step(u + guidance * (c - u), t, x, return_dict=False)[0]
        mean = torch.tensor(vae.config.latents_mean).view(1, 48, 1, 1, 1)
        std = torch.tensor(vae.config.latents_std).view(1, 48, 1, 1, 1)
        video = vae.decode(x * std + mean).sample.clamp(-1, 1)
    return ((video[0].permute(1, 2, 3, 0) + 1) * 127.5).round().byte().numpy()


if __name__ == "__main__":
    torch.set_num_threads(1)
    f = sample(sys.argv[1], sys.argv[2])
    Image.fromarray(np.concatenate([f[0], f[8], f[16]], 1)).save(sys.argv[3])
