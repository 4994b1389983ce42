#!/usr/bin/env python3
"""The one part a tiny official Wan2.2-S2V folder needs that the other fixtures lack: an official
umT5 encoder checkpoint (`models_t5_umt5-xxl-enc-bf16.pth`, a torch.save of
wan.modules.t5.T5Encoder's state dict in bf16) small enough to commit, sized for the tiny S2V
DiT (text_dim 32) and the tokenizer of the pipeline fixtures (vocabulary 3000).

S2VFolderTests assembles the folder from it and links to the other fixtures: the S2V DiT
(Tests/Fixtures/s2v/dit), the Wan2.1 VAE (vae/vae21_official.pth), the wav2vec2 encoder
(s2v/w2v_stable) and the tokenizer (pipelines/models/shared/tokenizer). The official `.pth`
carries no config: Wand reads the encoder's sizes off its tensor shapes.

    ~/refenv/bin/python Tools/reference/s2v_folder_fixture.py
"""
import os, sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchvision_cpu  # noqa: F401  (before torchvision)
import wan_cpu  # noqa: F401  (before the wan imports)
from wan.modules.t5 import T5Encoder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "s2v", "folder")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(2027)
    model = T5Encoder(vocab=3000, dim=32, dim_attn=32, dim_ffn=64, num_heads=4, num_layers=2,
                      num_buckets=32, shared_pos=False, dropout=0.0).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0, 0.5 if "embedding" in name else 0.2)
    state = {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()}
    path = os.path.join(OUT, "models_t5_umt5-xxl-enc-bf16.pth")
    torch.save(state, path)
    print(path, os.path.getsize(path), "bytes,", sum(v.numel() for v in state.values()), "parameters")
    for k, v in list(state.items())[:12]:
        print(" ", k, tuple(v.shape))


if __name__ == "__main__":
    main()
