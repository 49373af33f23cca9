#!/usr/bin/env bash
# Side by side (issue 4, item 5): the same jsip-bench loads against
# (a) jsip-ceiling, a WebSocket server that only parses and answers the JSON,
# and (b) slp-host with the bundled `echo` as `default` (a fresh instance per
# MESSAGE and per call), one after the other on this machine; prints a table.
#
#   bench/side-by-side.sh                 # defaults below
#   CONNS=100 DURATION=10s WARMUP=2s PIPELINES="1 8" ROUNDS=3 bench/side-by-side.sh
#
# With ROUNDS > 1 every run is repeated, the servers alternating, and each
# cell of the table is the round with the median throughput: on a shared
# 2-core VM one run can be 20-30% off.
#
# Each server is started fresh for each run and stopped after it. Needs curl
# and jq. The raw jsip-bench JSON lines are kept in $OUT (printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-100}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
PIPELINES=${PIPELINES:-"1 8"}
MODES=${MODES:-"message call"}
ROUNDS=${ROUNDS:-1}
HOST_PORT=${HOST_PORT:-18080}
API_PORT=${API_PORT:-18081}
CEILING_PORT=${CEILING_PORT:-18090}
OUT=${OUT:-$(mktemp -d /tmp/side-by-side.XXXXXX)}

[[ -n "${BIN:-}" ]] || cargo build --release -p slp-host --bins >&2  # BIN=<dir> uses binaries built elsewhere
BIN=${BIN:-target/release}
SERVER_PID=

stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

wait_port() { # port
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "side-by-side: nothing listens on port $1" >&2
  return 1
}

start_ceiling() {
  "$BIN/jsip-ceiling" --listen "127.0.0.1:$CEILING_PORT" 2>"$OUT/ceiling.log" &
  SERVER_PID=$!
  wait_port "$CEILING_PORT"
  URL="ws://127.0.0.1:$CEILING_PORT/rtc"
}

start_host() {
  local root="$OUT/host-root"
  rm -rf "$root" && mkdir -p "$root"
  cat >"$OUT/host.toml" <<TOML
root = "$root"
pid_file = "slp-host.pid"
[log]
file = "logs/slp-host.log"
level = "warn"
[rtc]
listen = "127.0.0.1:$HOST_PORT"
access_log = ""
max_connections = 20000
queue_limit = 1024
[api]
listen = "127.0.0.1:$API_PORT"
access_log = ""
[jsip]
realm = "bench"
TOML
  "$BIN/slp-host" -c "$OUT/host.toml" &
  SERVER_PID=$!
  wait_port "$HOST_PORT"
  # The bundled echo is `default` once the API lists it.
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$API_PORT/slpm/v1/default" >/dev/null && break
    sleep 0.1
  done
  URL="ws://127.0.0.1:$HOST_PORT/rtc"
}

run() { # server mode pipeline round
  local server=$1 mode=$2 pipeline=$3 round=$4
  "start_$server"
  local json="$OUT/$server-$mode-p$pipeline.r$round.json"
  "$BIN/jsip-bench" --url "$URL" --mode "$mode" -c "$CONNS" -d "$DURATION" --warmup "$WARMUP" \
    --pipeline "$pipeline" -q --json --server-pid "$SERVER_PID" | tail -n 1 >"$json" || true # errors are in the table
  stop_server
  echo "side-by-side: round $round: $server $mode pipeline $pipeline: $(jq -r .throughput_per_s "$json")/s" >&2
}

for round in $(seq 1 "$ROUNDS"); do
  for pipeline in $PIPELINES; do
    for mode in $MODES; do
      for server in ceiling host; do
        run "$server" "$mode" "$pipeline" "$round"
      done
    done
  done
done

# Each cell: the round with the median throughput (a failed run counts as 0).
for pipeline in $PIPELINES; do
  for mode in $MODES; do
    for server in ceiling host; do
      median=$(for f in "$OUT/$server-$mode-p$pipeline".r*.json; do
        echo "$(jq -r '.throughput_per_s // 0' "$f" 2>/dev/null || echo 0) $f"
      done | sort -n | awk '{ f[NR] = $2 } END { print f[int((NR + 1) / 2)] }')
      cp "$median" "$OUT/$server-$mode-p$pipeline.json"
    done
  done
done

# Server CPU per transaction is steadier than the rate on a VM whose speed
# drifts: it shows what each server spends, whatever the generator managed.
row() { # file → "per s | p50 | p99 | server CPUs | server µs per tx | jsip-bench CPUs | errors"
  jq -r '[(.throughput_per_s|tostring), (.latency_ms.p50*100|round/100|tostring),
          (.latency_ms.p99*100|round/100|tostring), ((.cpu.server // 0)*100|round/100|tostring),
          (if .throughput_per_s > 0 then ((.cpu.server // 0)*1e7/.throughput_per_s|round/10|tostring) else "n/a" end),
          ((.cpu.jsip_bench // 0)*100|round/100|tostring), (.errors.total|tostring)] | join(" | ")' "$1"
}

echo
echo "slp-host at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- host || echo ' (host/ has uncommitted changes)')"
echo "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $CONNS connections, $DURATION after $WARMUP warm-up, median of $ROUNDS round(s)"
echo
echo "| load | pipeline | server | per s | p50 ms | p99 ms | server CPUs | server µs per tx | jsip-bench CPUs | errors | host / ceiling |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for pipeline in $PIPELINES; do
  for mode in $MODES; do
    c=$(jq -r .throughput_per_s "$OUT/ceiling-$mode-p$pipeline.json")
    h=$(jq -r .throughput_per_s "$OUT/host-$mode-p$pipeline.json")
    ratio=$(awk -v h="$h" -v c="$c" 'BEGIN { if (c > 0) printf "%.0f%%", 100 * h / c; else print "n/a" }')
    echo "| $mode | $pipeline | jsip-ceiling | $(row "$OUT/ceiling-$mode-p$pipeline.json") | |"
    echo "| $mode | $pipeline | slp-host (echo) | $(row "$OUT/host-$mode-p$pipeline.json") | $ratio |"
  done
done
if [[ " $MODES " == *" message "* && " $MODES " == *" call "* ]]; then
  for pipeline in $PIPELINES; do
    m=$(jq -r .throughput_per_s "$OUT/host-message-p$pipeline.json")
    c=$(jq -r .throughput_per_s "$OUT/host-call-p$pipeline.json")
    awk -v m="$m" -v c="$c" -v p="$pipeline" \
      'BEGIN { if (c > 0) printf "\nslp-host, pipeline %s: a call costs %.2f MESSAGE transactions\n", p, m / c }'
  done
fi
echo
echo "raw results: $OUT"
