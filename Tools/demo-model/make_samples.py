"""The demo's input files (Samples/demo/): the ti2v job's first frame and the edit job's source
clip, rendered by the dataset generator so that they are in the demo model's world.
"""
import os
import subprocess

import numpy as np
from PIL import Image

import dataset

OUT = os.path.join(os.path.dirname(__file__), "../../Samples/demo")

image = dict(colour="yellow", shape="triangle", motion="moves right", style="", background="gray")
frames = dataset.render(image, np.random.default_rng(7))
Image.fromarray(frames[0]).save(os.path.join(OUT, "triangle.png"), optimize=True)

source = dict(colour="white", shape="square", motion="moves up", style="striped ", background="green")
frames = dataset.render(source, np.random.default_rng(8))
subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                "-s", f"{dataset.WIDTH}x{dataset.HEIGHT}", "-r", str(dataset.FPS), "-i", "-",
                "-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                os.path.join(OUT, "square.mp4")], input=frames.tobytes(), check=True)
print("wrote triangle.png and square.mp4 in", OUT)
