#!/usr/bin/env bash
# Issue 19's GPU check, for a machine with an NVIDIA GPU (any GPU with a Vulkan driver works): a
# Wan DiT forward at the TI2V-5B size on Wand's Vulkan backend against diffusers in bf16 on the
# same GPU, same bf16 weights, timing and relative error against an fp32 forward of those
# weights; it prints a table. Under 10 minutes on an H100/H200-class GPU (about 2 of them to write
# the 10 GB of random weights). Run from the repository root:
#
#   WAND=/path/to/wand Tools/bench/gpu-check.sh [--precisions f16,f32] [--geometry tiny]
#
# What it needs there:
#   * WAND: a wand binary, e.g. `swift build -c release --static-swift-stdlib --product wand`
#     (.build/release/wand). Swift's runtime is then inside it; the libraries it links (OpenBLAS,
#     FFmpeg's, libyaml, libsqlite3, libsystemd, libinotifytools) must be installed or carried,
#     and the script stops with the list of missing ones. Vulkan is opened at run time.
#   * a Vulkan loader (libvulkan.so.1) and the driver's ICD: without a loader, a `.gl/` folder of
#     Debian packages (libvulkan1 ...) is unpacked, as the device notes describe; the NVIDIA ICD at
#     /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json is used when VK_DRIVER_FILES is unset.
#   * python3 with torch (CUDA), diffusers, transformers, safetensors and accelerate (PYTHON
#     chooses the interpreter).
# DIR (default /tmp/wand-gpu-check) holds the weights between runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
WAND=${WAND:-.build/release/wand}
PYTHON=${PYTHON:-python3}
DIR=${DIR:-/tmp/wand-gpu-check}

[ -x "$WAND" ] || { echo "gpu-check: no wand binary at $WAND (set WAND)" >&2; exit 1; }
if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
    if compgen -G ".gl/*.deb" >/dev/null; then
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    else
        echo "gpu-check: no Vulkan loader (libvulkan.so.1) and no .gl/*.deb to unpack" >&2
        exit 1
    fi
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -z "${VK_ICD_FILENAMES:-}" ] && [ -f "$nvidia_icd" ]; then
    export VK_DRIVER_FILES=$nvidia_icd
fi
missing=$(ldd "$WAND" | awk '/not found/ {print $1}' | tr '\n' ' ')
if [ -n "$missing" ]; then
    echo "gpu-check: $WAND needs libraries this machine lacks: $missing" >&2
    exit 1
fi

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$WAND" devices
"$PYTHON" -c "import torch, diffusers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'diffusers', diffusers.__version__)"
exec timeout 900 "$PYTHON" Tools/bench/gpu_check.py all "$DIR" --wand "$WAND" "$@"
