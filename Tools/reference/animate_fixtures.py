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
import os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from animate_common import MODEL, OUT  # noqa: E402  (sets up the CPU shims first)
from animate_fixture_clip import make_clip, tiny_clip  # noqa: E402
from animate_fixture_dit import make_dit, make_real_shapes, tiny_dit  # noqa: E402
from animate_fixture_pipeline import make_pipeline, make_resize  # noqa: E402


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
