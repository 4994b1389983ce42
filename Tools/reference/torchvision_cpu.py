"""Import shim for a torchvision wheel whose compiled ops do not load next to the CPU torch.

The `torchvision` in ~/refenv was installed with --no-deps and its `_C` extension does not load
with torch 2.13+cpu; `import torchvision` then fails while registering fake kernels for ops such
as `torchvision::nms`. The transforms the reference code needs (resize, crop, normalize) do not use
those ops, so registering fakes for `torchvision::*` is skipped. Import this before torchvision,
transformers' image processors or diffusers' Animate pipeline.
"""
import torch.library as _library

_register_fake = _library.register_fake


def _skip_torchvision_fakes(op, *args, **kwargs):
    if isinstance(op, str) and op.startswith("torchvision::"):
        def decorator(fn=None, *a, **k):
            return fn if fn is not None else (lambda g: g)
        return decorator
    return _register_fake(op, *args, **kwargs)


_library.register_fake = _skip_torchvision_fakes
