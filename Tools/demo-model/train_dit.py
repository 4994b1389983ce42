"""Phase 3 of the demo model: train the tokenizer (SentencePiece unigram), a umT5 encoder and a
Wan2.2 TI2V-style DiT (diffusers WanTransformer3DModel, 48 latent channels, patch 1x2x2, per-token
timesteps) with flow matching on the latents that encode_latents.py writes, then export the whole
model in the diffusers layout.

A share of the batches (--cond-prob, half by default) condition on the first latent frame as
Wan2.2 TI2V does (clean first frame, timestep 0 on its tokens, no loss there), so the same model
serves t2v, ti2v and edit.
Cross-attention runs on the folded text padding of folded_padding.py (same outputs, less work).
"""
import argparse
import glob
import json
import math
import os
import random
import shutil
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F
from diffusers import WanTransformer3DModel
from transformers import UMT5Config, UMT5EncoderModel

import dataset
import folded_padding

DIT_CONFIG = dict(patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=64, in_channels=48,
                  out_channels=48, text_dim=128, freq_dim=256, ffn_dim=768, num_layers=4,
                  cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None,
                  rope_max_seq_len=1024)
TEXT_CONFIG = dict(d_model=128, d_ff=256, d_kv=32, num_heads=4, num_layers=2, num_decoder_layers=2,
                   relative_attention_num_buckets=32, relative_attention_max_distance=128,
                   feed_forward_proj="gated-gelu", dense_act_fn="gelu_new", dropout_rate=0.0,
                   layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
                   tie_word_embeddings=False, is_encoder_decoder=False)


def augment(text, rng):
    """Users capitalise and punctuate; the vocabulary and the training prompts cover both."""
    if rng.random() < 0.3:
        text = text[0].upper() + text[1:]
    if rng.random() < 0.3:
        text += "."
    return text


def train_tokenizer(out_dir):
    """Trained once per work folder (a resumed run must keep its token ids), single-threaded so
    that a retrain gives the same model."""
    os.makedirs(out_dir, exist_ok=True)
    if os.path.exists(os.path.join(out_dir, "spiece.model")):
        return spm.SentencePieceProcessor(model_file=os.path.join(out_dir, "spiece.model"))
    sentences = []
    for c in dataset.all_captions():
        sentences += [c, c + ".", c[0].upper() + c[1:] + "."]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=os.path.join(out_dir, "spiece"),
        vocab_size=96, model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        character_coverage=1.0, hard_vocab_limit=False, minloglevel=2, num_threads=1)
    return spm.SentencePieceProcessor(model_file=os.path.join(out_dir, "spiece.model"))


def encode_rows(sp, text_encoder, prompts):
    """The encoder's rows for the prompts, zero past each one's length ([B, longest, D]), and the lengths."""
    ids = [sp.encode(p) + [1] for p in prompts]
    n = max(len(i) for i in ids)
    input_ids = torch.zeros(len(ids), n, dtype=torch.long)
    mask = torch.zeros(len(ids), n, dtype=torch.long)
    for b, i in enumerate(ids):
        input_ids[b, :len(i)] = torch.tensor(i)
        mask[b, :len(i)] = 1
    rows = text_encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
    return rows * mask[..., None], [len(i) for i in ids]


def encode_text(sp, text_encoder, prompts):
    """The context as Wan builds it: the rows padded to 512 with zeros."""
    return folded_padding.pad(encode_rows(sp, text_encoder, prompts)[0])


class LatentSet:
    """Every shard encode_latents.py has finished so far; reload() picks up new ones."""

    def __init__(self, folder):
        self.folder, self.seen, self.latents, self.captions, self.masks = folder, set(), [], [], []

    def reload(self):
        for path in sorted(glob.glob(os.path.join(self.folder, "shard-*.pt"))):
            if path not in self.seen:
                shard = torch.load(path)
                if "shape_masks" not in shard:  # shards written before encode_latents.py stored them
                    first = len(self.captions)  # shards hold the training clips in order
                    shard["shape_masks"] = torch.from_numpy(np.stack(
                        [dataset.latent_shape_mask("train", first + k) for k in range(len(shard["captions"]))]))
                    torch.save(shard, path + ".tmp")
                    os.replace(path + ".tmp", path)
                self.latents.append(shard["latents"])
                self.masks.append(shard["shape_masks"])
                self.captions += shard["captions"]
                self.seen.add(path)
        self.all = torch.cat(self.latents)
        self.all_masks = torch.cat(self.masks)
        self.latents, self.masks = [self.all], [self.all_masks]
        return len(self.captions)

    def done(self):
        return os.path.exists(os.path.join(self.folder, "DONE"))


def sample_sigmas(b, rng_t):
    u = torch.rand(b, generator=rng_t)
    shifted = 3.0 * u / (1 + 2.0 * u)
    return torch.where(torch.rand(b, generator=rng_t) < 0.5, u, shifted).clamp(1e-3, 1.0)


def check_folded_padding(dit, text_encoder, sp, data, mean, inv_std):
    """folded_padding.check on four training clips at mixed noise levels, before any step."""
    z0 = (data.all[:4] - mean) * inv_std
    sigma = torch.tensor([0.2, 0.5, 0.8, 1.0]).view(4, 1, 1, 1, 1)
    zt = (1 - sigma) * z0 + sigma * torch.randn(z0.shape, generator=torch.Generator().manual_seed(2))
    timestep = (sigma.view(4, 1) * 1000).expand(4, zt.shape[2] * zt.shape[3] * zt.shape[4] // 4)
    with torch.no_grad():
        rows, lengths = encode_rows(sp, text_encoder, data.captions[:3] + [""])
    return folded_padding.check(dit, zt, timestep, rows, lengths)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/wand-demo-train")
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--lr-end", type=float, help="anneal the learning rate to this by the end of --minutes "
                                                 "(cosine over wall-clock time); without it, lr stays flat")
    p.add_argument("--shape-weight", type=float, default=1.0,
                   help="loss weight of the latent pixels the shape touches (dataset.latent_shape_mask), "
                        "against 1 for the background: the shape is a small part of the frame, and "
                        "with equal weights the model learns backgrounds long before shapes")
    p.add_argument("--cond-prob", type=float, default=0.5,
                   help="share of the batches that pin the clean first frame (ti2v); the rest are t2v")
    p.add_argument("--first-frame-weight", type=float, default=1.0,
                   help="loss weight of latent frame 0 in the t2v batches, against 1 for the others: in "
                        "t2v the first frame fixes where the shape starts, and the rest follow from it")
    p.add_argument("--init", help="go on from an exported model folder (e.g. Samples/models/wand-demo): "
                                  "its tokenizer, text encoder and DiT; the optimiser starts afresh")
    p.add_argument("--bf16", action="store_true",
                   help="run the forward and backward passes under bfloat16 autocast (weights, optimiser "
                        "and EMA stay float32): faster on CPUs with AVX-512 BF16 or AMX")
    args = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    rng, rng_t = random.Random(1), torch.Generator().manual_seed(1)
    if args.init:
        os.makedirs(os.path.join(args.out, "tokenizer"), exist_ok=True)
        shutil.copy(os.path.join(args.init, "tokenizer", "spiece.model"), os.path.join(args.out, "tokenizer"))
        vae_config = json.load(open(os.path.join(args.init, "vae", "config.json")))
        json.dump({"mean": vae_config["latents_mean"], "std": vae_config["latents_std"]},
                  open(os.path.join(args.out, "latent-stats.json"), "w"))
    sp = train_tokenizer(os.path.join(args.out, "tokenizer"))
    data = LatentSet(os.path.join(args.out, "latents"))
    while not glob.glob(os.path.join(data.folder, "shard-*.pt")):
        time.sleep(10)
    data.reload()
    stats_path = os.path.join(args.out, "latent-stats.json")
    if not os.path.exists(stats_path):
        flat = data.all.permute(1, 0, 2, 3, 4).reshape(48, -1)
        json.dump({"mean": flat.mean(1).tolist(), "std": flat.std(1).tolist()}, open(stats_path, "w"))
    stats = json.load(open(stats_path))
    mean = torch.tensor(stats["mean"]).view(1, 48, 1, 1, 1)
    inv_std = 1.0 / torch.tensor(stats["std"]).view(1, 48, 1, 1, 1)

    if args.init:
        dit = WanTransformer3DModel.from_pretrained(os.path.join(args.init, "transformer")).float()
        text_encoder = UMT5EncoderModel.from_pretrained(os.path.join(args.init, "text_encoder")).float()
    else:
        dit = WanTransformer3DModel(**DIT_CONFIG)
        text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=sp.get_piece_size(), **TEXT_CONFIG))
    params = list(dit.parameters()) + list(text_encoder.parameters())
    ema = [q.detach().clone() for q in params]
    opt = torch.optim.AdamW(params, lr=3e-4, weight_decay=0.01, betas=(0.9, 0.99))
    step = 0
    ckpt = os.path.join(args.out, "dit-ckpt.pt")
    if args.resume and os.path.exists(ckpt):
        state = torch.load(ckpt)
        dit.load_state_dict(state["dit"]), text_encoder.load_state_dict(state["text"])
        opt.load_state_dict(state["opt"])
        ema, step = state["ema"], state["step"]
    print(f"DiT {sum(q.numel() for q in dit.parameters()):,} params, text encoder "
          f"{sum(q.numel() for q in text_encoder.parameters()):,}, vocab {sp.get_piece_size()}", flush=True)

    cross_attention, diff = check_folded_padding(dit, text_encoder, sp, data, mean, inv_std)
    print(f"folded text padding: largest difference from the 512-row context {diff:.2e}", flush=True)

    t0, losses, shape_losses, encoding_finished = time.time(), [], [], False
    while time.time() - t0 < args.minutes * 60:
        if step % 50 == 0 and not encoding_finished:
            encoding_finished = data.done()  # read before reloading, so the last shards are loaded
            data.reload()
            if encoding_finished:
                torch.set_num_threads(max(args.threads, 2))
        idx = torch.randint(len(data.captions), (args.batch,), generator=rng_t)
        z0 = (data.all[idx] - mean) * inv_std
        prompts = ["" if rng.random() < 0.1 else augment(data.captions[i], rng) for i in idx.tolist()]
        b, _, t, h, w = z0.shape
        sigma = sample_sigmas(b, rng_t)
        noise = torch.randn(z0.shape, generator=rng_t)
        s = sigma.view(b, 1, 1, 1, 1)
        zt = (1 - s) * z0 + s * noise
        # first-frame conditioning (TI2V): clean latent frame 0, timestep 0 on its tokens
        cond = (torch.rand(b, generator=rng_t) < args.cond_prob).view(b, 1, 1, 1, 1)
        frame_mask = torch.ones(b, 1, t, h, w)
        frame_mask[:, :, 0] = torch.where(cond.view(b, 1, 1, 1), 0.0, 1.0)
        zt = frame_mask * zt + (1 - frame_mask) * z0
        timestep = (frame_mask[:, 0, :, ::2, ::2] * (sigma * 1000).view(b, 1, 1, 1)).flatten(1)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            rows, lengths = encode_rows(sp, text_encoder, prompts)
            context, cross_attention.bias = folded_padding.fold(rows, lengths)
            pred = dit(hidden_states=zt, timestep=timestep, encoder_hidden_states=context,
                       return_dict=False)[0].float()
        shape = data.all_masks[idx].unsqueeze(1).float()
        weight = frame_mask * (1 + (args.shape_weight - 1) * shape)
        weight[:, :, 0] *= args.first_frame_weight  # zero already where the first frame is pinned
        err = (pred - (noise - z0)).pow(2)
        loss = (err * weight).sum() / (weight.sum() * 48)
        with torch.no_grad():
            shape_losses.append(((err * frame_mask * shape).sum() / ((frame_mask * shape).sum() * 48 + 1)).item())
        lr = args.lr * min(1.0, (step + 1) / 100)
        if args.lr_end is not None:
            progress = min(1.0, (time.time() - t0) / (args.minutes * 60))
            lr = args.lr_end + (lr - args.lr_end) * 0.5 * (1 + math.cos(math.pi * progress))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(0.995, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, q in zip(ema, params):
                e.lerp_(q.detach(), 1 - decay)
        losses.append(loss.item())
        step += 1
        if step % 25 == 0:
            print(f"step {step} t={time.time() - t0:.0f}s clips={len(data.captions)} "
                  f"loss={sum(losses[-25:]) / 25:.4f} shape={sum(shape_losses[-25:]) / 25:.4f}", flush=True)
        if step % 200 == 0:
            torch.save({"dit": dit.state_dict(), "text": text_encoder.state_dict(), "opt": opt.state_dict(),
                        "ema": ema, "step": step}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    torch.save({"dit": dit.state_dict(), "text": text_encoder.state_dict(), "opt": opt.state_dict(),
                "ema": ema, "step": step}, ckpt)
    with torch.no_grad():
        for e, q in zip(ema, params):
            q.copy_(e)
    dit.save_pretrained(os.path.join(args.out, "ema", "transformer"))
    text_encoder.save_pretrained(os.path.join(args.out, "ema", "text_encoder"))
    json.dump({"steps": step, "seconds": time.time() - t0, "batch": args.batch,
               "clips": len(data.captions)}, open(os.path.join(args.out, "dit-train.json"), "w"))
    print(f"done: {step} steps in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
