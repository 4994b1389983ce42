#!/usr/bin/env bash
# Retrain Wand's demo model from nothing and write it to Samples/models/wand-demo.
#   Tools/demo-model/train.sh [WORKDIR]      (needs the reference venv: PY=~/refenv/bin/python)
# Minutes per phase can be set with VAE_MINUTES, VAE_MORE_MINUTES and DIT_MINUTES; the defaults
# are what the committed model got on a 2-core CPU (see README.md here).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PY:-$HOME/refenv/bin/python}
WORK=${1:-/tmp/wand-demo-train}
VAE_MINUTES=${VAE_MINUTES:-16}
VAE_MORE_MINUTES=${VAE_MORE_MINUTES:-24}
DIT_MINUTES=${DIT_MINUTES:-70}
CLIPS=${CLIPS:-1600}

"$PY" train_vae.py --out "$WORK" --minutes "$VAE_MINUTES"
"$PY" train_vae.py --out "$WORK" --minutes "$VAE_MORE_MINUTES" --resume --lr 2e-4
# The encoder is frozen from here: its latents are what the DiT learns. Encoding and DiT
# training share the two cores until the encoder is done.
"$PY" encode_latents.py --out "$WORK" --clips "$CLIPS" --threads 1 &
"$PY" train_dit.py --out "$WORK" --minutes "$DIT_MINUTES" --threads 1
wait
"$PY" export.py --train "$WORK" --out ../../Samples/models/wand-demo
"$PY" make_samples.py
"$PY" make_fixtures.py
