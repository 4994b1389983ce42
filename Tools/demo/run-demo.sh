#!/usr/bin/env bash
# `make demo`: runs Wand's main job for real on this machine. A fresh demo spool is laid out
# under ./demo-spool, the sample jobs of Samples/demo/ are dropped into its inbox, and the daemon
# processes them (`wand serve --exit-when-idle`) and exits. Then the outputs are listed.
set -euo pipefail
cd "$(dirname "$0")/../.."

WAND=${WAND:-.build/release/wand}
[ -x "$WAND" ] || { echo "demo: $WAND is missing; run 'make release' first" >&2; exit 1; }

rm -rf demo-spool
mkdir -p demo-spool/inbox demo-spool/outbox demo-spool/failed demo-spool/state
cp -R Samples/demo/. demo-spool/inbox/

echo "== validating the demo jobs"
"$WAND" validate --config Config/demo.yaml demo-spool/inbox/*.yaml

echo "== running: $WAND serve --config Config/demo.yaml --exit-when-idle"
start=$(date +%s)
status=0
"$WAND" serve --config Config/demo.yaml --exit-when-idle || status=$?
echo "== finished in $(( $(date +%s) - start )) s (exit $status)"

echo "== outbox"
find demo-spool/outbox -type f -not -path '*/.wand-staging/*' | sort | sed 's/^/  /'
echo "== failed"
find demo-spool/failed -type f | sort | sed 's/^/  /'
for f in demo-spool/failed/*.error.txt; do
  [ -e "$f" ] || continue
  echo "-- $f"; sed 's/^/   /' "$f"
done
exit "$status"
