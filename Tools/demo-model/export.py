"""Assemble the trained demo model as a diffusers Wan2.2 TI2V folder (the layout of
Wan-AI/Wan2.2-TI2V-5B-Diffusers): model_index.json, scheduler/, transformer/, vae/, text_encoder/,
tokenizer/ — weights in bfloat16, the VAE's latent statistics in vae/config.json.
"""
import argparse
import json
import os
import shutil

import torch
from diffusers import AutoencoderKLWan, WanTransformer3DModel
from transformers import UMT5EncoderModel

MODEL_INDEX = {
    "_class_name": "WanPipeline", "_diffusers_version": "0.42.1", "boundary_ratio": None,
    "expand_timesteps": True,
    "tokenizer": ["transformers", "T5Tokenizer"], "text_encoder": ["transformers", "UMT5EncoderModel"],
    "vae": ["diffusers", "AutoencoderKLWan"], "transformer": ["diffusers", "WanTransformer3DModel"],
    "scheduler": ["diffusers", "UniPCMultistepScheduler"],
}


def ema_from_checkpoint(train):
    from transformers import UMT5Config
    from train_dit import DIT_CONFIG, TEXT_CONFIG
    import sentencepiece as spm
    state = torch.load(os.path.join(train, "dit-ckpt.pt"))
    vocab = spm.SentencePieceProcessor(model_file=os.path.join(train, "tokenizer", "spiece.model")).get_piece_size()
    dit = WanTransformer3DModel(**DIT_CONFIG)
    text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=vocab, **TEXT_CONFIG))
    dit.load_state_dict(state["dit"]), text_encoder.load_state_dict(state["text"])
    with torch.no_grad():  # the EMA list follows train_dit.py's parameter order
        for e, q in zip(state["ema"], list(dit.parameters()) + list(text_encoder.parameters()), strict=True):
            q.copy_(e)
    return dit, text_encoder, state["step"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", default="/tmp/wand-demo-train")
    p.add_argument("--out", required=True)
    p.add_argument("--shift", type=float, default=3.0)
    p.add_argument("--from-checkpoint", action="store_true",
                   help="take the DiT and text encoder from the EMA in dit-ckpt.pt (a run still going, or one "
                        "that was cut off) instead of the ema/ folder a finished run writes")
    args = p.parse_args()
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    json.dump(MODEL_INDEX, open(os.path.join(args.out, "model_index.json"), "w"), indent=2)
    from diffusers import UniPCMultistepScheduler
    UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=args.shift,
                            num_train_timesteps=1000).save_pretrained(os.path.join(args.out, "scheduler"))

    stats = json.load(open(os.path.join(args.train, "latent-stats.json")))
    # the decoder fine-tuned on whole clips (finetune_decoder.py) when there is one
    vae_dir = next(d for d in (os.path.join(args.train, "vae-final"), os.path.join(args.train, "vae"))
                   if os.path.exists(d))
    vae = AutoencoderKLWan.from_pretrained(vae_dir)
    vae.register_to_config(latents_mean=[round(v, 5) for v in stats["mean"]],
                           latents_std=[round(v, 5) for v in stats["std"]])
    vae.to(torch.bfloat16).save_pretrained(os.path.join(args.out, "vae"))
    if args.from_checkpoint:
        dit, text_encoder, step = ema_from_checkpoint(args.train)
        print(f"EMA weights of step {step}")
    else:
        dit = WanTransformer3DModel.from_pretrained(os.path.join(args.train, "ema", "transformer"))
        text_encoder = UMT5EncoderModel.from_pretrained(os.path.join(args.train, "ema", "text_encoder"))
    dit.to(torch.bfloat16).save_pretrained(os.path.join(args.out, "transformer"))
    text_encoder.to(torch.bfloat16).save_pretrained(os.path.join(args.out, "text_encoder"))
    tok = os.path.join(args.out, "tokenizer")
    os.makedirs(tok)
    shutil.copy(os.path.join(args.train, "tokenizer", "spiece.model"), tok)
    json.dump({"tokenizer_class": "T5Tokenizer", "eos_token": "</s>", "pad_token": "<pad>",
               "unk_token": "<unk>", "extra_ids": 0, "model_max_length": 512},
              open(os.path.join(tok, "tokenizer_config.json"), "w"), indent=2)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f"{args.out}: {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
