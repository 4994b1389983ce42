"""Import shim that lets the official `wan` package (pip install --no-deps wan22) run on a CPU.

`wan.modules.t5` calls torch.cuda.current_device() at class-definition time, and the package's
__init__ pulls in modules that expect CUDA. Import this module before `import wan`.
"""
import torch

if not torch.cuda.is_available():
    torch.cuda.current_device = lambda: "cpu"  # only used as a default argument value

# Pipelines we never run from the reference scripts (speech-to-video, animate) import these
# at package-import time; empty stand-ins let `import wan` succeed without them.
import importlib.machinery
import sys
import types

class _Stub(types.ModuleType):
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return None


for _name in ("decord", "librosa", "soundfile", "pyloudnorm", "onnxruntime", "cv2", "peft", "dashscope"):
    try:
        __import__(_name)
    except ImportError:
        _mod = _Stub(_name)
        _mod.__spec__ = importlib.machinery.ModuleSpec(_name, None)
        sys.modules[_name] = _mod
