"""A simple attribute detector for demo-model clips: background colour, shape colour, shape and
motion, read from the frames alone. It knows the dataset's palettes (the vocabulary of the
prompts), nothing about the model. Tests/WandEngineTests/DemoModelDetector.swift is the same
algorithm in Swift for the CI regression test.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dataset  # noqa: E402

LABEL_BOX = (0.55, 0.82)  # x, y fractions: the visible watermark sits right and below of this


def _nearest(rgb, palette):
    names = list(palette)
    d = [np.linalg.norm(np.asarray(rgb, float) - np.asarray(palette[n], float)) for n in names]
    return names[int(np.argmin(d))], float(min(d))


def background_colours(frames):
    """The one or two colours of the left edge over all frames (two for striped backgrounds)."""
    edge = frames[:, :, :4].reshape(-1, 3).astype(float)
    first = np.median(edge, axis=0)
    far = np.linalg.norm(edge - first, axis=1) > 40
    centres = [first]
    if far.mean() > 0.15:
        centres.append(np.median(edge[far], axis=0))
    return centres


def shape_masks(frames, centres):
    f = frames.astype(float)
    dist = np.min([np.linalg.norm(f - c, axis=-1) for c in centres], axis=0)
    masks = dist > 60
    t, h, w = masks.shape
    masks[:, int(h * LABEL_BOX[1]):, int(w * LABEL_BOX[0]):] = False
    return masks


def detect(frames):
    """frames: uint8 [T, H, W, 3] -> dict of colour, shape, motion, background (None if unsure)."""
    centres = background_colours(frames)
    background = min((_nearest(c, dataset.BACKGROUNDS) for c in centres), key=lambda r: r[1])[0]
    masks = shape_masks(frames, centres)
    areas = masks.sum(axis=(1, 2))
    out = {"background": background, "colour": None, "shape": None, "motion": None}
    if areas.max() < 30:
        return out
    pixels = frames[masks]
    out["colour"] = _nearest(np.median(pixels, axis=0), dataset.COLOURS)[0]
    t = int(np.argmax(areas))
    ys, xs = np.nonzero(masks[t])
    fill = areas[t] / ((ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1))
    out["shape"] = "square" if fill > 0.88 else "circle" if fill > 0.64 else "triangle"
    k = max(1, len(frames) // 5)

    def centre(i):
        ys, xs = np.nonzero(masks[i])
        return (xs.mean(), ys.mean()) if len(xs) else (np.nan, np.nan)
    start = np.nanmean([centre(i) for i in range(k)], axis=0)
    end = np.nanmean([centre(i) for i in range(len(frames) - k, len(frames))], axis=0)
    growth = (areas[-k:].mean() + 1) / (areas[:k].mean() + 1)
    dx, dy = end - start
    if growth > 1.8:
        out["motion"] = "grows"
    elif growth < 0.55:
        out["motion"] = "shrinks"
    elif max(abs(dx), abs(dy)) > 15:
        if abs(dx) > abs(dy):
            out["motion"] = "moves right" if dx > 0 else "moves left"
        else:
            out["motion"] = "moves down" if dy > 0 else "moves up"
    return out


def score(found, attrs):
    keys = ["colour", "shape", "motion", "background"]
    return {k: found[k] == attrs[k] for k in keys}


if __name__ == "__main__":
    # The detector on the dataset's own clips: it should read nearly all of them right.
    right, total = 0, 0
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 60):
        text, attrs, frames = dataset.clip("eval", i)
        s = score(detect(frames), attrs)
        right, total = right + sum(s.values()), total + len(s)
        if not all(s.values()):
            print("miss:", text, detect(frames))
    print(f"detector on ground truth: {right}/{total} = {right / total:.3f}")
