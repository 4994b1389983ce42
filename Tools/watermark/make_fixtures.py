"""Makes Tests/Fixtures/media/watermark/*.png with the Python reference embedder (imwatermark, method dwtDct).
Needs: ~/refenv/bin/pip install invisible-watermark   (pulls opencv-python, PyWavelets)
Run:   ~/refenv/bin/python Tools/watermark/make_fixtures.py
"""
import json
import os
import sys

import cv2
from imwatermark import WatermarkDecoder, WatermarkEncoder

sys.path.insert(0, os.path.dirname(__file__))
from pyclips import payload_bits, picture  # noqa: E402

out = os.path.join(os.path.dirname(__file__), "../../Tests/Fixtures/media/watermark")
os.makedirs(out, exist_ok=True)
expected = {}
for i, job in enumerate(["fixture-job-1", "fixture-job-2"]):
    bits, hexed = payload_bits(job)
    enc = WatermarkEncoder()
    enc.set_watermark("bits", bits)
    bgr = cv2.cvtColor(picture(1000 + i), cv2.COLOR_RGB2BGR)
    marked = enc.encode(bgr, "dwtDct")
    name = f"py-dwtdct-{i + 1}.png"
    cv2.imwrite(os.path.join(out, name), marked)
    # The reference reader does not recover every bit of its own mark (the peak entry of a block can change
    # when it is quantised); our reader must agree with the reference reader, so record what it reads.
    reread = cv2.imread(os.path.join(out, name))
    python_read = WatermarkDecoder("bytes", 64).decode(reread, "dwtDct").hex()
    expected[name] = {"job_id": job, "payload_hex": hexed, "python_decoder_hex": python_read}
# An unmarked picture: detection must report low confidence.
cv2.imwrite(os.path.join(out, "unmarked.png"), cv2.cvtColor(picture(2000), cv2.COLOR_RGB2BGR))
expected["unmarked.png"] = {"python_decoder_hex": WatermarkDecoder("bytes", 64).decode(
    cv2.imread(os.path.join(out, "unmarked.png")), "dwtDct").hex()}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
print(json.dumps(expected, indent=1))
