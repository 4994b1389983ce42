"""Prompt adherence of the demo model, end to end through Wand: for N held-out prompts (colour x
shape x motion combinations never trained on) run `wand generate`, decode the MP4 with ffmpeg and
score the detector's reading against the prompt's attributes.

    ~/refenv/bin/python Tools/demo-model/eval/run_eval.py --wand .build/release/wand --count 48
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dataset  # noqa: E402
from detect import detect, score  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))


def read_mp4(path):
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, dataset.HEIGHT, dataset.WIDTH, 3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--wand", default=os.path.join(ROOT, ".build/release/wand"))
    p.add_argument("--model", default=os.path.join(ROOT, "Samples/models/wand-demo"))
    p.add_argument("--count", type=int, default=48)
    p.add_argument("--start", type=int, default=0,
                   help="first held-out clip; tune sampling settings on e.g. --start 1000 and report on 0..47")
    p.add_argument("--shift", type=float, help="sampler shift (default: the model's scheduler config)")
    p.add_argument("--steps", type=int, help="default 16, or the recipe's")
    p.add_argument("--guidance", type=float, help="default 5, or the recipe's")
    p.add_argument("--recipe", help="a few-step recipe (lightning-4step): its steps, shift, guidance, sampler, schedule")
    p.add_argument("--lora", action="append", default=[], help="PATH[:STRENGTH] merged into the model (repeatable)")
    p.add_argument("--mode", default="t2v", choices=["t2v", "ti2v"])
    p.add_argument("--split", default="eval", choices=["eval", "train"],
                   help="train scores prompts the model was trained on: far above eval means it does not generalise")
    p.add_argument("--json", help="write the per-prompt results here")
    args = p.parse_args()
    if args.recipe is None:
        args.steps = 16 if args.steps is None else args.steps
        args.guidance = 5.0 if args.guidance is None else args.guidance
    per_attr = collections.Counter()
    rows, t0 = [], time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.start, args.start + args.count):
            text, attrs, frames = dataset.clip(args.split, i)
            out = os.path.join(tmp, f"{i}.mp4")
            cmd = [args.wand, "generate", "--model", args.model, "--mode", args.mode, "--prompt", text,
                   "--seed", str(1000 + i), "--size", f"{dataset.WIDTH}x{dataset.HEIGHT}",
                   "--frames", str(dataset.FRAMES), "--fps", str(dataset.FPS), "--out", out]
            if args.steps is not None:
                cmd += ["--steps", str(args.steps)]
            if args.guidance is not None:
                cmd += ["--guidance", str(args.guidance)]
            if args.recipe:
                cmd += ["--recipe", args.recipe]
            for lora in args.lora:
                cmd += ["--lora", lora]
            if args.shift is not None:
                cmd += ["--shift", str(args.shift)]
            if args.mode == "ti2v":
                from PIL import Image
                Image.fromarray(frames[0]).save(os.path.join(tmp, f"{i}.png"))
                cmd += ["--image", os.path.join(tmp, f"{i}.png")]
            subprocess.run(cmd, check=True, capture_output=True)
            found = detect(read_mp4(out))
            s = score(found, attrs)
            per_attr.update({k: int(v) for k, v in s.items()})
            rows.append({"prompt": text, "seed": 1000 + i, "found": found, "right": s})
            print(f"{sum(s.values())}/4  {text}  ->  {found}", flush=True)
    n = len(rows)
    total = sum(per_attr.values()) / (4 * n)
    print(f"\n{args.mode}, {n} {'held-out' if args.split == 'eval' else 'training'} prompts, {args.steps or args.recipe} steps, guidance {args.guidance or args.recipe}, shift {args.shift or 'default'}"
          f"{', LoRA ' + ', '.join(args.lora) if args.lora else ''}: "
          f"{total:.3f} of attributes right ({time.time() - t0:.0f} s)")
    for k in ("colour", "shape", "motion", "background"):
        print(f"  {k:<10} {per_attr[k] / n:.3f}")
    if args.json:
        json.dump({"score": total, "per_attribute": {k: per_attr[k] / n for k in per_attr}, "rows": rows},
                  open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
