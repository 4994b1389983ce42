#!/usr/bin/env python3
"""A 4-step LoRA for the demo model, made the way few-step LoRAs are meant to work: trained so that
4 Euler steps on the Wan2.2-Lightning grid (shift 5, timesteps 1000, 937.5, 833.3, 625) with
guidance 1 (one DiT pass per step, no negative prompt) land where the demo model's own 20-step,
guidance-5 UniPC run lands from the same noise. It is a small stand-in for lightx2v's Lightning
LoRAs, for the sample job Samples/lora-4step.yaml; it does not make the demo model better than
its 20-step self, only about as good in a tenth of the DiT passes (see --eval and the README).

    ~/refenv/bin/python Tools/demo-model/train_4step_lora.py [--out Samples/loras/wand-demo-4step.safetensors]

Teacher trajectories: --samples training-split captions with seeded noise, 20 UniPC steps with
CFG 5 (40 DiT passes each). Student: the frozen demo DiT plus a rank --rank LoRA (PEFT) on every
block's self-attention q, k, v, o and FFN; the loss is the MSE between the student's 4-step
result (back-propagated through all 4 steps) and the teacher's final latents. Saved in the
ComfyUI/Kohya layout the Lightning LoRAs use (diffusion_model.blocks.N.self_attn.q.lora_down.weight
+ .alpha), bf16.
"""
import argparse
import os
import random
import sys
import time

sys.modules.setdefault("torchvision", None)  # the refenv's torchvision does not match its torch
import sentencepiece as spm
import torch
from diffusers import UniPCMultistepScheduler, WanTransformer3DModel
from peft import LoraConfig
from safetensors.torch import save_file
from transformers import UMT5EncoderModel

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
sys.path.insert(0, HERE)
import dataset  # noqa: E402
import folded_padding  # noqa: E402
from train_dit import encode_rows  # noqa: E402

MODEL = os.path.join(ROOT, "Samples/models/wand-demo")
SHAPE = (48, (dataset.FRAMES - 1) // 4 + 1, dataset.HEIGHT // 16, dataset.WIDTH // 16)
TOKENS = SHAPE[1] * SHAPE[2] * SHAPE[3] // 4
TARGETS = ["attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "ffn.net.0.proj", "ffn.net.2"]
OFFICIAL = {"attn1.to_q": "self_attn.q", "attn1.to_k": "self_attn.k", "attn1.to_v": "self_attn.v",
            "attn1.to_out.0": "self_attn.o", "ffn.net.0.proj": "ffn.0", "ffn.net.2": "ffn.2"}


def lightning(steps=4, shift=5.0):
    """Wan2.2-Lightning's EulerScheduler grid (float32), as FlowSchedule.lightning in Wand."""
    t = torch.linspace(1000, 0, steps + 1, dtype=torch.float64).float()
    s = t / 1000
    s = shift * s / (1 + (shift - 1) * s)
    return s, s * 1000


def captions(split, first, count):
    out = []
    for i in range(first, first + count):
        rng = random.Random(f"wand-demo/{split}/{i}")
        out.append(dataset.caption(**dataset.sample_attributes(rng, split)))
    return out


class Text:
    """Folded contexts (folded_padding.py: the same outputs as the 512-row padding, less work)."""

    def __init__(self, sp, te, prompts):
        with torch.no_grad():
            rows, lengths = encode_rows(sp, te, prompts)
            self.context, self.bias = folded_padding.fold(rows, lengths)

    def pick(self, idx):
        return self.context[idx], self.bias[idx]


PROCESSOR = None


def dit_velocity(dit, x, t, text):
    ts = torch.full((x.shape[0], TOKENS), float(t))
    PROCESSOR.bias = text[1]
    return dit(hidden_states=x, timestep=ts, encoder_hidden_states=text[0], return_dict=False)[0]


@torch.no_grad()
def teacher(dit, sched_cfg, x, cond, uncond, steps=20, guidance=5.0):
    sched = UniPCMultistepScheduler.from_config(sched_cfg)
    sched.set_timesteps(steps)
    for t in sched.timesteps:
        c = dit_velocity(dit, x, t, cond)
        u = dit_velocity(dit, x, t, uncond)
        x = sched.step(u + guidance * (c - u), t, x, return_dict=False)[0]
    return x


def student(dit, x, cond):
    sigmas, timesteps = lightning()
    for i in range(4):
        x = x + (sigmas[i + 1] - sigmas[i]) * dit_velocity(dit, x, timesteps[i], cond)
    return x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(ROOT, "Samples/loras/wand-demo-4step.safetensors"))
    p.add_argument("--samples", type=int, default=192)
    p.add_argument("--iters", type=int, default=600)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    sp = spm.SentencePieceProcessor(model_file=os.path.join(MODEL, "tokenizer", "spiece.model"))
    te = UMT5EncoderModel.from_pretrained(os.path.join(MODEL, "text_encoder")).float().eval()
    dit = WanTransformer3DModel.from_pretrained(os.path.join(MODEL, "transformer")).float().eval()
    sched_cfg = UniPCMultistepScheduler.load_config(os.path.join(MODEL, "scheduler"))
    for prm in dit.parameters():
        prm.requires_grad_(False)
    global PROCESSOR
    PROCESSOR = folded_padding.install(dit)

    # Teacher data, and a held-out set of eval prompts (never trained on) to report.
    t0 = time.time()
    # One encode for every prompt, so all folded contexts have the same rows; the last is "".
    n_eval = 32
    texts = captions("train", 0, args.samples) + captions("eval", 0, n_eval) + [""]
    text = Text(sp, te, texts)
    train_idx, eval_idx = torch.arange(args.samples), torch.arange(args.samples, args.samples + n_eval)
    empty = len(texts) - 1
    with torch.no_grad():
        noise = torch.randn((args.samples + n_eval,) + SHAPE, generator=torch.Generator().manual_seed(1))
        targets = []
        for i in range(0, args.samples + n_eval, 16):
            idx = torch.arange(i, min(i + 16, args.samples + n_eval))
            targets.append(teacher(dit, sched_cfg, noise[idx], text.pick(idx), text.pick(torch.full((len(idx),), empty))))
        targets = torch.cat(targets)
        plain = ((student(dit, noise[eval_idx], text.pick(eval_idx)) - targets[eval_idx]) ** 2).mean().item()
    print(f"teacher: {args.samples} + {n_eval} trajectories in {time.time() - t0:.0f} s; "
          f"4 steps without LoRA: eval MSE to the 20-step guided result {plain:.4f}", flush=True)

    dit.add_adapter(LoraConfig(r=args.rank, lora_alpha=args.rank, init_lora_weights=True,
                               target_modules=[f"blocks.{n}.{m}" for n in range(len(dit.blocks)) for m in TARGETS]))
    params = [q for name, q in dit.named_parameters() if "lora_" in name]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0)
    g = torch.Generator().manual_seed(3)
    t0 = time.time()
    for it in range(1, args.iters + 1):
        lr = args.lr * (0.1 + 0.9 * (1 - it / args.iters))
        for group in opt.param_groups:
            group["lr"] = lr
        idx = torch.randint(0, args.samples, (args.batch,), generator=g)
        loss = ((student(dit, noise[idx], text.pick(idx)) - targets[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if it % 50 == 0 or it == args.iters:
            with torch.no_grad():
                ev = ((student(dit, noise[eval_idx], text.pick(eval_idx)) - targets[eval_idx]) ** 2).mean().item()
            print(f"iter {it}: train loss {loss.item():.4f}, eval MSE {ev:.4f} (without LoRA {plain:.4f}), "
                  f"{time.time() - t0:.0f} s", flush=True)

    # PEFT names -> the ComfyUI/Kohya layout (official module names under diffusion_model.).
    out = {}
    for name, q in dit.named_parameters():
        if "lora_" not in name:
            continue
        block, rest = name.split(".", 2)[1], name.split(".", 2)[2]
        module, part = rest.split(".lora_")
        kind = "lora_down" if part.startswith("A") else "lora_up"
        key = f"diffusion_model.blocks.{block}.{OFFICIAL[module]}"
        out[f"{key}.{kind}.weight"] = q.detach().to(torch.bfloat16).contiguous()
        out[f"{key}.alpha"] = torch.tensor(float(args.rank))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    save_file(out, args.out, metadata={"wand": "demo 4-step LoRA: Tools/demo-model/train_4step_lora.py"})
    print(f"wrote {args.out}: {len(out)} tensors, {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
