"""The README's strip of frames: frames 0, 8 and 16 of each MP4 in the demo's outbox, one row per
video, with the job's mode and prompt (from its sidecar) above it.
    ~/refenv/bin/python Tools/demo-model/strip.py demo-spool/outbox Tools/demo-model/demo-strip.png
"""
import glob
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image, ImageDraw

outbox, target = sys.argv[1], sys.argv[2]
rows = []
for mp4 in sorted(glob.glob(os.path.join(outbox, "**", "*.mp4"), recursive=True)):
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", mp4, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    probe = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", mp4],
                                      capture_output=True, check=True).stdout)
    w, h = probe["streams"][0]["width"], probe["streams"][0]["height"]
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)
    picks = [0, len(frames) // 2, len(frames) - 1]
    row = np.concatenate([np.pad(frames[i], ((0, 0), (0, 4), (0, 0))) for i in picks], axis=1)
    caption = Image.new("RGB", (row.shape[1], 18), (255, 255, 255))
    sidecar = os.path.splitext(mp4)[0] + ".json"  # the job's metadata, written next to the video
    meta = json.load(open(sidecar)) if os.path.exists(sidecar) else {}
    prompt = f"{meta.get('mode', '?')}: {meta.get('prompt', os.path.basename(mp4))}"
    ImageDraw.Draw(caption).text((4, 3), prompt[:90], fill=(0, 0, 0))
    rows += [np.asarray(caption), row, np.full((6, row.shape[1], 3), 255, np.uint8)]
Image.fromarray(np.concatenate(rows, axis=0)).save(target, optimize=True)
print("wrote", target)
