#!/usr/bin/env python3
"""Output sizes of the official image-conditioned paths for many input image sizes.

TI2V-5B: wan.utils.utils.best_output_size + the resize-then-center-crop of textimage2video.py.
I2V-A14B: the lat_h / lat_w rule of image2video.py. Writes Tests/Fixtures/engine/geometry.json.

    ~/refenv/bin/python Tools/reference/geometry_fixtures.py
"""
import json, os, random, sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wan_cpu  # noqa: F401
from wan.utils.utils import best_output_size

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "engine", "geometry.json")

rng = random.Random(7)
sizes = [(1280, 720), (720, 1280), (1920, 1080), (1024, 1024), (832, 480), (480, 832), (640, 480),
         (4000, 3000), (333, 777), (1281, 721)]
sizes += [(rng.randint(64, 4096), rng.randint(64, 4096)) for _ in range(40)]

rows = []
for iw, ih in sizes:
    for area in (1280 * 704, 704 * 1280, 832 * 480, 256 * 256):
        ow, oh = best_output_size(iw, ih, 32, 32, area)
        scale = max(ow / iw, oh / ih)
        sw, sh = round(iw * scale), round(ih * scale)
        rows.append({"mode": "ti2v", "iw": iw, "ih": ih, "area": area, "ow": ow, "oh": oh,
                     "sw": sw, "sh": sh, "x1": (sw - ow) // 2, "y1": (sh - oh) // 2})
    for area in (1280 * 720, 832 * 480, 256 * 256):
        ar = ih / iw
        lat_h = round(np.sqrt(area * ar) // 8 // 2 * 2)
        lat_w = round(np.sqrt(area / ar) // 8 // 2 * 2)
        rows.append({"mode": "i2v", "iw": iw, "ih": ih, "area": area, "lat_h": int(lat_h), "lat_w": int(lat_w)})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
json.dump({"generator": "Tools/reference/geometry_fixtures.py", "rows": rows}, open(OUT, "w"))
print("wrote", len(rows), "rows to", OUT)
