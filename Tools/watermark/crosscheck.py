"""Cross-checks Wand's invisible watermark against the Python reference (imwatermark, method dwtDct).
(a) Python embeds into PNGs -> `wand detect` reads them (compared with the true payload and the Python reader).
(b) `wand watermark-sample` embeds + encodes H.264 MP4s at CRF 18 and 23 -> frames decoded by the ffmpeg CLI
    -> the Python reader decodes every frame, bits are majority-voted over frames.
Needs: ~/refenv/bin/pip install invisible-watermark ; a built `wand` (default .build/debug/wand) ; ffmpeg.
Run:   ~/refenv/bin/python Tools/watermark/crosscheck.py [--wand PATH] [--clips 20]
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
from imwatermark import WatermarkDecoder, WatermarkEncoder

sys.path.insert(0, os.path.dirname(__file__))
from pyclips import payload_bits, picture  # noqa: E402


def agreement(a_hex, b_hex):
    return 1 - bin(int(a_hex, 16) ^ int(b_hex, 16)).count("1") / 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wand", default=".build/debug/wand")
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--frames", type=int, default=6)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="wand-wm-")
    reader = WatermarkDecoder("bytes", 64)

    # (a) Python embeds, we read.
    ours_vs_truth, ours_vs_python, python_vs_truth = [], [], []
    for i in range(args.clips):
        job = f"py-job-{i}"
        bits, truth = payload_bits(job)
        enc = WatermarkEncoder()
        enc.set_watermark("bits", bits)
        path = os.path.join(tmp, f"py-{i}.png")
        cv2.imwrite(path, enc.encode(cv2.cvtColor(picture(5000 + i), cv2.COLOR_RGB2BGR), "dwtDct"))
        python_read = reader.decode(cv2.imread(path), "dwtDct").hex()
        ours = json.loads(subprocess.check_output([args.wand, "detect", "--json", path]))["payload"]
        ours_vs_truth.append(agreement(ours, truth))
        ours_vs_python.append(agreement(ours, python_read))
        python_vs_truth.append(agreement(python_read, truth))
    print(f"(a) Python-embedded PNGs, n={args.clips}: our reader vs true payload mean {np.mean(ours_vs_truth):.4f}; "
          f"our reader vs Python reader mean {np.mean(ours_vs_python):.4f} (min {np.min(ours_vs_python):.4f}); "
          f"Python reader vs true payload mean {np.mean(python_vs_truth):.4f} (the reference's own limit)")

    # (b) We embed + encode, Python reads.
    for crf in (18, 23):
        accs, ours_accs = [], []
        for i in range(args.clips):
            job = f"swift-job-{i}"
            mp4 = os.path.join(tmp, f"sw-{crf}-{i}.mp4")
            truth = subprocess.check_output([args.wand, "watermark-sample", mp4, "--job-id", job, "--seed", str(100 + i),
                                             "--crf", str(crf), "--frames", str(args.frames)]).decode().strip()
            for old in glob.glob(os.path.join(tmp, "f-*.png")):
                os.remove(old)
            subprocess.check_call(["ffmpeg", "-v", "error", "-y", "-i", mp4, os.path.join(tmp, "f-%03d.png")])
            votes = np.zeros(64)
            frames = sorted(glob.glob(os.path.join(tmp, "f-*.png")))
            for f in frames:
                votes += np.unpackbits(np.frombuffer(reader.decode(cv2.imread(f), "dwtDct"), dtype=np.uint8))
            bits = (votes / len(frames) > 0.5).astype(np.uint8)
            accs.append(agreement(np.packbits(bits).tobytes().hex(), truth))
            ours = json.loads(subprocess.check_output([args.wand, "detect", "--json", mp4]))["payload"]
            ours_accs.append(agreement(ours, truth))
        print(f"(b) CRF {crf}, n={args.clips} clips x {args.frames} frames 320x256: Python reader bit accuracy "
              f"mean {np.mean(accs):.4f} min {np.min(accs):.4f}; our reader mean {np.mean(ours_accs):.4f} "
              f"min {np.min(ours_accs):.4f}")


if __name__ == "__main__":
    main()
