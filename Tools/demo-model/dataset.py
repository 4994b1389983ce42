"""Deterministic procedural dataset for Wand's demo model: short captioned clips of one coloured
shape that moves, grows or shrinks on a plain or striped background.

Every clip is a pure function of (split, index), so the dataset never has to be stored and one
command retrains the same model. Held-out (colour, shape, motion) combinations never appear in
training; the eval prompts are drawn from them.
"""
import hashlib
import random

import numpy as np

WIDTH, HEIGHT, FRAMES, FPS = 256, 160, 17, 16

COLOURS = {  # name -> RGB used for the shape
    "red": (220, 40, 40), "green": (40, 190, 60), "blue": (50, 80, 230),
    "yellow": (240, 220, 40), "purple": (150, 60, 200), "white": (245, 245, 245),
}
BACKGROUNDS = {  # name -> RGB of the plain background (stripes use a darker shade)
    "black": (15, 15, 15), "gray": (120, 120, 120), "blue": (30, 50, 120),
    "green": (30, 100, 50), "brown": (110, 70, 40),
}
SHAPES = ["circle", "square", "triangle"]
MOTIONS = ["moves left", "moves right", "moves up", "moves down", "grows", "shrinks"]
STYLES = ["", "", "striped "]


def _combo_key(colour, shape, motion):
    return hashlib.sha256(f"{colour}|{shape}|{motion}".encode()).digest()[0]


def held_out(colour, shape, motion):
    """About one combination in seven is never trained on."""
    return _combo_key(colour, shape, motion) % 7 == 0


def caption(colour, shape, motion, style, background):
    return f"a {colour} {shape} {motion} on a {style}{background} background"


def sample_attributes(rng, split):
    while True:
        colour = rng.choice(list(COLOURS))
        shape = rng.choice(SHAPES)
        motion = rng.choice(MOTIONS)
        background = rng.choice(list(BACKGROUNDS))
        style = rng.choice(STYLES)
        if background == "blue" and colour == "blue" or background == "green" and colour == "green":
            continue
        if held_out(colour, shape, motion) == (split == "eval"):
            return dict(colour=colour, shape=shape, motion=motion, style=style, background=background)


def trajectory(rng, motion):
    """Centre (x, y) and half-size r per frame, in pixels."""
    t = np.linspace(0.0, 1.0, FRAMES)
    r0 = rng.uniform(18, 26)
    r = np.full(FRAMES, r0)
    cx, cy = rng.uniform(90, 166), rng.uniform(55, 105)
    x, y = np.full(FRAMES, cx), np.full(FRAMES, cy)
    span_x, span_y = rng.uniform(90, 130), rng.uniform(55, 75)
    if motion == "moves left":
        x = 128 + span_x / 2 - span_x * t
    elif motion == "moves right":
        x = 128 - span_x / 2 + span_x * t
    elif motion == "moves up":
        y = 80 + span_y / 2 - span_y * t
    elif motion == "moves down":
        y = 80 - span_y / 2 + span_y * t
    elif motion == "grows":
        r = 12 + (rng.uniform(38, 46) - 12) * t
    elif motion == "shrinks":
        r = rng.uniform(38, 46) - (rng.uniform(38, 46) - 12) * t
    x = x + rng.uniform(-20, 20) * (motion in ("moves up", "moves down"))
    y = y + rng.uniform(-12, 12) * (motion in ("moves left", "moves right"))
    return x, y, r


def _shape_mask(shape, x, y, r, ss=2):
    """Anti-aliased coverage of one shape, by 2x2 supersampling."""
    ys = (np.arange(HEIGHT * ss) + 0.5) / ss
    xs = (np.arange(WIDTH * ss) + 0.5) / ss
    X, Y = np.meshgrid(xs, ys)
    dx, dy = X - x, Y - y
    if shape == "circle":
        m = dx * dx + dy * dy <= r * r
    elif shape == "square":
        s = r * 0.89  # same area as the circle of radius r
        m = (np.abs(dx) <= s) & (np.abs(dy) <= s)
    else:  # upward triangle with its centroid at (x, y)
        h = r * 2.7
        top, bottom = -h * 2 / 3, h / 3
        half_width = (dy - top) / h * (h / np.sqrt(3))
        m = (dy >= top) & (dy <= bottom) & (np.abs(dx) <= half_width)
    return m.reshape(HEIGHT, ss, WIDTH, ss).mean(axis=(1, 3))


def render(attrs, rng, coverage=None):
    """uint8 array [FRAMES, HEIGHT, WIDTH, 3]; fills `coverage` ([FRAMES, HEIGHT, WIDTH] floats) with
    the shape's coverage when given."""
    bg = np.array(BACKGROUNDS[attrs["background"]], dtype=np.float32)
    canvas = np.empty((HEIGHT, WIDTH, 3), dtype=np.float32)
    canvas[:] = bg
    if attrs["style"] == "striped ":
        period = int(rng.choice([64, 80]))
        rows = (np.arange(HEIGHT) // (period // 2)) % 2 == 1
        canvas[rows] = bg * 0.55 + 0.45 * np.array([200, 200, 200]) * (bg.mean() < 60)
    fg = np.array(COLOURS[attrs["colour"]], dtype=np.float32)
    x, y, r = trajectory(rng, attrs["motion"])
    frames = np.empty((FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
    for i in range(FRAMES):
        a = _shape_mask(attrs["shape"], x[i], y[i], r[i])[..., None]
        if coverage is not None:
            coverage[i] = a[..., 0]
        frames[i] = np.clip(canvas * (1 - a) + fg * a + 0.5, 0, 255).astype(np.uint8)
    return frames


def clip(split, index):
    """(caption, attributes, frames) for one clip; deterministic in (split, index)."""
    rng = random.Random(f"wand-demo/{split}/{index}")
    attrs = sample_attributes(rng, split)
    frames = render(attrs, np.random.default_rng(rng.getrandbits(32)))
    return caption(**attrs), attrs, frames


def latent_shape_mask(split, index, dilate=1):
    """Where the shape is, on the latent grid of Wan-VAE 2.2 (4x16x16: 5 x 10 x 16 for a clip):
    latent frame 0 is video frame 0 and latent frame k covers video frames 4k-3..4k. A latent
    pixel counts when the shape touches its 16x16 block in any of its frames, widened by `dilate`
    latent pixels (the shape's edges and its motion reach the neighbours' receptive fields).
    bool array [5, 10, 16]; the DiT's loss weights the shape's tokens with it."""
    rng = random.Random(f"wand-demo/{split}/{index}")
    attrs = sample_attributes(rng, split)
    coverage = np.zeros((FRAMES, HEIGHT, WIDTH), dtype=np.float32)
    render(attrs, np.random.default_rng(rng.getrandbits(32)), coverage)
    blocks = coverage.reshape(FRAMES, HEIGHT // 16, 16, WIDTH // 16, 16).max(axis=(2, 4)) > 0.05
    latent = np.stack([blocks[0]] + [blocks[4 * k - 3:4 * k + 1].any(axis=0) for k in range(1, (FRAMES - 1) // 4 + 1)])
    for _ in range(dilate):
        grown = latent.copy()
        grown[:, 1:] |= latent[:, :-1]
        grown[:, :-1] |= latent[:, 1:]
        grown[:, :, 1:] |= latent[:, :, :-1]
        grown[:, :, :-1] |= latent[:, :, 1:]
        latent = grown
    return latent


def all_captions():
    """Every caption the grammar can produce (for the tokenizer's vocabulary)."""
    return [caption(c, s, m, st, b) for c in COLOURS for s in SHAPES for m in MOTIONS
            for st in STYLES for b in BACKGROUNDS]


if __name__ == "__main__":
    import sys
    from PIL import Image
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 4):
        text, attrs, frames = clip("train", i)
        print(i, text)
        strip = np.concatenate([frames[0], frames[8], frames[16]], axis=1)
        Image.fromarray(strip).save(f"/tmp/demo-clip-{i}.png")
