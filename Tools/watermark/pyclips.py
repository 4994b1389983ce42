"""Natural-looking deterministic test pictures for the watermark cross-check (numpy only, independent of Swift)."""
import numpy as np


def picture(seed, width=320, height=256):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = np.zeros((height, width, 3))
    angle = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(angle) * xx / width + np.sin(angle) * yy / height) * 60
    for c in range(3):
        layer = rng.uniform(60, 180) + grad
        amp = 50.0
        for octave in range(4):
            cells = 4 * 2 ** octave
            lattice = rng.uniform(0, 1, (cells + 2, cells + 2))
            fx, fy = xx / width * cells, yy / height * cells
            x0, y0 = np.floor(fx).astype(int), np.floor(fy).astype(int)
            sx, sy = fx - x0, fy - y0
            sx, sy = sx * sx * (3 - 2 * sx), sy * sy * (3 - 2 * sy)
            a, b = lattice[y0, x0], lattice[y0, x0 + 1]
            d, e = lattice[y0 + 1, x0], lattice[y0 + 1, x0 + 1]
            layer += amp * (((a + (b - a) * sx) * (1 - sy) + (d + (e - d) * sx) * sy) - 0.5)
            amp *= 0.55
        layer += 15 * np.sin(xx * rng.uniform(0.05, 0.25) + 0.3 * np.sin(yy * 0.07))
        img[:, :, c] = layer
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)  # RGB


def payload_bits(job_id):
    import hashlib
    digest = hashlib.sha256(job_id.encode()).digest()[:8]
    return list(np.unpackbits(np.frombuffer(digest, dtype=np.uint8))), digest.hex()
