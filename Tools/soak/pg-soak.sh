#!/usr/bin/env bash
# The multi-host soak of issue 23: three `wand serve` daemons (separate state dirs; one shared
# inbox, outbox, failed folder and spool; one PostgreSQL started here in a temporary folder) take
# DROPS job files while a random daemon is killed with SIGKILL KILLS times (and restarted). With
# STOPS=1, a daemon running a long job is paused with SIGSTOP until another host has taken the
# job over, then resumed: its stale run must never publish. At the end every drop must be in
# outbox/ (a video) or failed/ (a broken job file) exactly once, none twice, nothing left over.
#
#   Tools/soak/pg-soak.sh                         # the full run: 300 drops, 10 kills, 1 SIGSTOP
#   DROPS=30 KILLS=3 Tools/soak/pg-soak.sh        # what the CI test (PGSoakTests) runs
#
# Env: DROPS, KILLS, STOPS (0|1), LEASE (seconds, default 3), WAND (the binary; default
# .build/debug/wand, else .build/release/wand), KEEP=1 keeps the work folder, TIMEOUT (seconds).
# Exit 0: passed; 1: failed (the reason is printed); 77: skipped (no PostgreSQL server binaries or
# no wand binary). Uses the tiny t2v test model (48x32, 5 frames, 2 steps: about a second a job).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DROPS=${DROPS:-300}
KILLS=${KILLS:-10}
STOPS=${STOPS:-1}
LEASE=${LEASE:-3}
TIMEOUT=${TIMEOUT:-$((120 + DROPS * 2))}
WAND=${WAND:-}
if [ -z "$WAND" ]; then
  for w in "$ROOT/.build/debug/wand" "$ROOT/.build/release/wand"; do [ -x "$w" ] && { WAND=$w; break; }; done
fi
[ -n "$WAND" ] && [ -x "$WAND" ] || { echo "pg-soak: SKIP: no wand binary (swift build)"; exit 77; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/postgres" ] || { echo "pg-soak: SKIP: no PostgreSQL server under /usr/lib/postgresql (Debian package postgresql)"; exit 77; }

W=$(mktemp -d /tmp/wand-soak.XXXXXX) && chmod 755 "$W"  # the postgres user must reach its folder inside
HOSTS=(h1 h2 h3)
PG=$W/pg
URL="postgresql://wand@/postgres?host=$PG"
fail() { echo "pg-soak: FAIL: $*"; FAILED=1; }
FAILED=0
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

cleanup() {
  for h in "${HOSTS[@]}"; do
    [ -f "$W/$h.pid" ] && { kill -CONT "$(cat "$W/$h.pid")" 2>/dev/null; kill -9 "$(cat "$W/$h.pid")" 2>/dev/null; }
  done
  [ -f "$W/pg.pid" ] && kill -INT "$(cat "$W/pg.pid")" 2>/dev/null && sleep 0.5
  [ "${KEEP:-0}" = 1 ] && echo "pg-soak: work folder kept: $W" || rm -rf "$W"
}
trap cleanup EXIT

# PostgreSQL: initdb refuses root, so as root the server runs as the postgres user, in a folder it owns.
mkdir -p "$PG"
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG"; AS=(setpriv --reuid=postgres --regid=postgres --clear-groups --); fi
"${AS[@]}" "$PGBIN/initdb" -D "$PG/data" -A trust -U wand -E UTF8 --locale=C --no-sync --no-instructions >"$W/initdb.log" 2>&1 \
  || { cat "$W/initdb.log"; echo "pg-soak: FAIL: initdb"; exit 1; }
"${AS[@]}" "$PGBIN/postgres" -D "$PG/data" -k "$PG" -c listen_addresses= -c fsync=off -c synchronous_commit=off \
  -c max_connections=60 >"$W/postgres.log" 2>&1 &
echo $! >"$W/pg.pid"
for _ in $(seq 200); do "$PGBIN/pg_isready" -q -h "$PG" && break; sleep 0.05; done
"$PGBIN/pg_isready" -q -h "$PG" || { cat "$W/postgres.log"; echo "pg-soak: FAIL: postgres did not start"; exit 1; }
sql() { psql "$URL" -qAtX -c "$1" 2>/dev/null; }

MODEL=$ROOT/Tests/Fixtures/pipelines/models/tiny-t2v
mkdir -p "$W/inbox" "$W/outbox" "$W/failed" "$W/spool"
for h in "${HOSTS[@]}"; do
  cat >"$W/$h.yaml" <<EOF
wand-config: 1
state_dir: state-$h
outbox: outbox
failed: failed
inboxes: [{path: inbox, settle: 0.2s, watch: inotify}]
models: {tiny: {path: $MODEL, kind: t2v-a14b, sizes: [48x32]}}
defaults: {t2v: tiny}
engine: {threads: 1}
max_attempts: 20
retry_backoff: 0.2s
queue: {backend: postgres, url: "$URL", spool: spool, host: $h, lease: ${LEASE}s, heartbeat: 0.5s}
EOF
done
start() { "$WAND" serve --config "$W/$1.yaml" >>"$W/$1.log" 2>&1 & echo $! >"$W/$1.pid"; }
for h in "${HOSTS[@]}"; do start "$h"; done

# Drops: one in twenty is a broken job file (frames must be 4n+1) and must end in failed/.
drop() {  # NAME CONTENT: written under a dot name, then renamed in (an atomic drop)
  printf "%b" "$2" >"$W/inbox/.$1.tmp" && mv "$W/inbox/.$1.tmp" "$W/inbox/$1"
}
drop_wave() {  # FROM TO
  for i in $(seq "$1" "$2"); do
    if [ $((i % 20)) = 7 ]; then drop "d$i.yaml" "wand: 1\nmode: t2v\nprompt: broken $i\nsize: 48x32\nframes: 80\n"
    else drop "d$i.yaml" "wand: 1\nmode: t2v\nprompt: a red circle $i\nsize: 48x32\nframes: 5\nsteps: 2\nseed: $i\n"; fi
  done
}
EXPECTED_FAILED=$(for i in $(seq 1 "$DROPS"); do [ $((i % 20)) = 7 ] && echo x; done | wc -l)
T0=$(now)

# SIGSTOP: a long job (200 steps, ~5 s) runs somewhere; pause that daemon past its lease until the
# job runs on another host, then resume it while that host is still at it: the stale run is ahead
# and would publish first, were it not fenced.
stop_scenario() {
  drop "slow.yaml" "wand: 1\nmode: t2v\nprompt: a slow blue square\nsize: 48x32\nframes: 5\nsteps: 200\nseed: 99\n"
  local row="" host id pid start taken=""
  for _ in $(seq 600); do
    row=$(sql "SELECT host, id FROM wand_jobs WHERE name = 'slow' AND state = 'running'")
    if [ -n "$row" ]; then
      host=${row%%|*}; id=${row#*|}
      echo "$host" >"$W/stopped-host"  # the kill loop leaves this one alone from now on
      sleep 0.5
      pid=$(cat "$W/$host.pid"); kill -STOP "$pid"; start=$(now)
      # Still that host's run (it was not killed just before)? Otherwise try again.
      [ "$(sql "SELECT host FROM wand_jobs WHERE id = '$id' AND state = 'running'")" = "$host" ] && break
      kill -CONT "$pid"; rm -f "$W/stopped-host"; row=""
    fi
    sleep 0.05
  done
  [ -n "$row" ] || { echo "||none|the slow job never ran (or not long enough) on one host" >"$W/stop.result"; return; }
  for _ in $(seq 1200); do
    taken=$(sql "SELECT host FROM wand_jobs WHERE id = '$id' AND ((state = 'running' AND host <> '$host') OR state = 'done')")
    [ -n "$taken" ] && break; sleep 0.05
  done
  kill -CONT "$pid"
  echo "$host|$id|${taken:-none}|$(since "$start")" >"$W/stop.result"
  rm -f "$W/stopped-host"
}
[ "$STOPS" = 1 ] && { stop_scenario & STOPPER=$!; }

# Drops in waves, a kill -9 of a random daemon (not the paused one) between waves.
WAVES=$((KILLS > 0 ? KILLS : 1)); PER=$(( (DROPS + WAVES - 1) / WAVES )); next=1
for k in $(seq 1 "$WAVES"); do
  last=$((next + PER - 1)); [ "$last" -gt "$DROPS" ] && last=$DROPS
  [ "$next" -le "$last" ] && drop_wave "$next" "$last"; next=$((last + 1))
  [ "$KILLS" -gt 0 ] || break
  sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 0.5 + (r % 250) / 100 }')"
  while :; do victim=${HOSTS[$((RANDOM % 3))]}; [ "$victim" != "$(cat "$W/stopped-host" 2>/dev/null)" ] && break; done
  pid=$(cat "$W/$victim.pid"); kill -9 "$pid"; wait "$pid" 2>/dev/null
  echo "kill -9 $victim (pid $pid) at $(since "$T0") s" >>"$W/kills.log"
  sleep "0.$((RANDOM % 8))"; start "$victim"
done
[ "$next" -le "$DROPS" ] && drop_wave "$next" "$DROPS"
[ "$STOPS" = 1 ] && wait "$STOPPER"

# Everything lands (the slow job too), then a grace period in which a late duplicate would show.
TOTAL=$((DROPS + (STOPS == 1 ? 1 : 0)))
landed() { echo $(( $(ls "$W/outbox" | grep -c '\.mp4$') + $(ls "$W/failed" | grep -c '\.yaml$') )); }
while [ "$(landed)" -lt "$TOTAL" ]; do
  [ "$SECONDS" -gt "$TIMEOUT" ] && { fail "timed out with $(landed) of $TOTAL landed"; break; }
  sleep 0.2
done
sleep $((LEASE + 1))
ELAPSED=$(since "$T0")
for h in "${HOSTS[@]}"; do kill -TERM "$(cat "$W/$h.pid")" 2>/dev/null; done
for h in "${HOSTS[@]}"; do for _ in $(seq 100); do kill -0 "$(cat "$W/$h.pid")" 2>/dev/null || break; sleep 0.1; done; done

# Exactly once: d<i>.mp4 in outbox/ or d<i>.yaml in failed/, never d<i>-2.*.
ls "$W/outbox" >"$W/outbox.list"; ls "$W/failed" >"$W/failed.list"
bad=0
for i in $(seq 1 "$DROPS"); do
  n=$(( $(grep -cE "^d$i(-[0-9]+)?\.mp4$" "$W/outbox.list") + $(grep -cE "^d$i(-[0-9]+)?\.yaml$" "$W/failed.list") ))
  [ "$n" = 1 ] || { bad=$((bad + 1)); [ "$bad" -le 5 ] && fail "d$i landed $n times"; }
  if [ $((i % 20)) = 7 ]; then grep -qx "d$i.yaml" "$W/failed.list" || fail "broken d$i is not in failed/"
  else grep -qx "d$i.mp4" "$W/outbox.list" || fail "d$i.mp4 is not in outbox/"; fi
done
copies=$(grep -hE -- '-[0-9]+\.(mp4|yaml|json)$' "$W/outbox.list" "$W/failed.list" | head -3 | paste -sd' ' -)
[ -z "$copies" ] || fail "second copies: $copies"
videos=$(grep -c '\.mp4$' "$W/outbox.list"); failed=$(grep -c '\.yaml$' "$W/failed.list")
[ "$failed" = "$EXPECTED_FAILED" ] || fail "$failed job files in failed/, expected $EXPECTED_FAILED"
ids=$(cat "$W"/outbox/*.json 2>/dev/null | grep -o '"job" : "[^"]*"' | sort | uniq -d | wc -l)
[ "$ids" = 0 ] || fail "$ids job ids published twice"
left=$(sql "SELECT count(*) FROM wand_jobs WHERE state NOT IN ('done', 'failed') OR NOT filed")
[ "$left" = 0 ] || fail "$left jobs not finished in the journal: $(sql "SELECT id, state FROM wand_jobs WHERE state NOT IN ('done','failed') OR NOT filed" | head -3)"
[ -z "$(ls -A "$W/inbox")" ] || fail "left in the inbox: $(ls -A "$W/inbox" | head -3)"
[ -z "$(ls "$W/spool")" ] || fail "left in the spool: $(ls "$W/spool" | head -3)"
[ -z "$(ls -A "$W/outbox/.wand-staging" 2>/dev/null)" ] || fail "left in staging: $(ls -A "$W/outbox/.wand-staging" | head -3)"

STOPLINE="no SIGSTOP"
if [ "$STOPS" = 1 ]; then
  IFS='|' read -r shost sid staken spaused <"$W/stop.result"
  if [ -z "$sid" ] || [ "$staken" = none ]; then fail "SIGSTOP scenario: $(cat "$W/stop.result")"
  else
    [ "$staken" != "$shost" ] || fail "the paused host $shost got its job back"
    [ "$(grep -cx 'slow.mp4' "$W/outbox.list")" = 1 ] && ! grep -qE '^slow-[0-9]+\.' "$W/outbox.list" || fail "slow.mp4 is not in outbox/ exactly once"
    grep -q "\"job\" : \"$sid\"" "$W/outbox/slow.json" || fail "slow.json is not job $sid's"
    # The paused host's log after SIGCONT: it learns it lost the lease, and the run it had going
    # (its first "slow: running") is not followed by "slow: done" before another run starts (the
    # job may come back to it later under a fresh lease, e.g. when the new holder is killed).
    grep -qE "lease on (job )?$sid (ran out|was lost)" "$W/$shost.log" || fail "$shost never noticed it lost the lease on $sid"
    grep -E "slow: (running|done)" "$W/$shost.log" | sed -n 2p | grep -q "slow: done" && fail "the paused host $shost published its stale run of slow"
    if grep -q "slow: the lease on job $sid was lost.*its files are left" "$W/$shost.log"; then how="its publication was refused by the fencing token"
    else how="its heartbeat found the lease gone and stopped the run"; fi
    STOPLINE="SIGSTOP of $shost for $spaused s (lease ${LEASE} s): job $sid taken over by $staken; the stale run published nothing ($how)"
  fi
fi
PERHOST=$(sql "SELECT host || ' ' || count(*) FROM wand_jobs WHERE state = 'done' GROUP BY host ORDER BY host" | paste -sd, -)
RERUNS=$(sql "SELECT count(*) FROM wand_jobs WHERE attempts > 1")
if [ "$FAILED" = 0 ]; then
  echo "pg-soak: PASS: $DROPS drops exactly once ($videos videos, $failed failed), $KILLS kill -9 with restarts, $RERUNS jobs re-run after a kill; $STOPLINE; videos per host: $PERHOST; $ELAPSED s"
  exit 0
fi
echo "pg-soak: logs in $W (KEEP=1 keeps them); kills: $(paste -sd';' "$W/kills.log" 2>/dev/null)"
KEEP=${KEEP:-1}
exit 1
