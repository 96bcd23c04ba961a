#!/usr/bin/env bash
# Report writes per second on SQLite, durable against power loss (synchronous = FULL, the
# default) and not (synchronous = NORMAL), side by side in one run, on loopback only.
#
#  1. builds the release binary;
#  2. for each mode: starts the server in demo mode on a fresh SQLite database with
#     XHB_SQLITE_SYNCHRONOUS=<mode> and no practical submission limit, logs $RIDERS demo riders in,
#     drives POST /api/v1/reports with wrk for $DURATION (benches/writes.lua: random riders, random
#     points, so nearly every request files a new report), and stops the server;
#  3. prints requests/s, p99, non-2xx answers and acknowledged writes per second for both modes,
#     and (when the sqlite3 shell is installed) how many reports each database holds afterwards.
#
# Bounded: each wrk run lasts $DURATION (default 15s) with a 5 s request timeout; the whole script
# takes about a minute after the build. Run it on a quiet machine: it measures the disk's flush
# latency, which is what `full` pays for on every commit.
#
# Usage: bash benches/writes.sh   (DURATION=15s CONNECTIONS=16 THREADS=1 RIDERS=64 PORT=18081
#                                  WORK_DIR=/path/to/keep/the/databases/and/logs)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-1}"
RIDERS="${RIDERS:-64}"
PORT="${PORT:-18081}"
BASE="http://127.0.0.1:$PORT"

source benches/common.sh

start_server() { # mode
  if curl -sf "$BASE/healthz" >/dev/null; then echo "port $PORT is taken"; exit 1; fi
  rm -rf "${WORK:?}/$1" && mkdir -p "$WORK/$1"
  # Started directly (not through a function) so that $! is the server itself.
  env XHB_DEMO=true XHB_DATABASE_URL="sqlite://$WORK/$1/writes.db" XHB_MEDIA_DIR="$WORK/$1/media" \
    XHB_BIND="127.0.0.1:$PORT" XHB_SQLITE_SYNCHRONOUS="$1" XHB_REPORTS_PER_RIDER_PER_HOUR=100000000 \
    XHB_LOG_FORMAT=json XHB_LOG=warn "$BIN" serve >"$WORK/$1/server.log" 2>&1 &
  SERVER_PID=$!
  local waited=0
  until curl -sf "$BASE/readyz" >/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$1/server.log"; exit 1; }
    waited=$((waited + 1))
    [ "$waited" -lt 600 ] || { echo "server not ready after 30 s"; exit 1; }
    sleep 0.05
  done
}

log_riders_in() { # mode: writes $WORK/<mode>/tokens, one a line
  : >"$WORK/$1/tokens"
  for i in $(seq 1 "$RIDERS"); do
    curl -sf -X POST "$BASE/api/v1/auth/wechat-login" -H 'Content-Type: application/json' \
      -d "{\"code\":\"demo-bench$i\"}" | sed -E 's/.*"token":"([^"]+)".*/\1/' >>"$WORK/$1/tokens"
    echo >>"$WORK/$1/tokens"
  done
  sed -i '/^$/d' "$WORK/$1/tokens"
}

declare -A RPS P99 NON2XX ACKED HELD

measure() { # mode
  start_server "$1"
  log_riders_in "$1"
  local out
  out=$(TOKENS="$WORK/$1/tokens" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s --latency \
    -s benches/writes.lua "$BASE")
  echo "$out" >"$WORK/$1/wrk.txt"
  stop_server
  RPS[$1]=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  P99[$1]=$(echo "$out" | awk '$1 == "99%" {print $2}')
  NON2XX[$1]=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  # Acknowledged writes (2xx) per second: every answer but the non-2xx ones, over the run.
  ACKED[$1]=$(echo "$out" | awk -v bad="${NON2XX[$1]:-0}" '
    / requests in / { n = $1; t = $4; sub(/,$/, "", t)
                      if (t ~ /ms$/) { sub(/ms$/, "", t); t /= 1000 }
                      else if (t ~ /m$/) { sub(/m$/, "", t); t *= 60 }
                      else { sub(/s$/, "", t) } }
    END { if (t > 0) printf "%.0f", (n - bad) / t }')
  # What the stopped server's database holds (less the demo seed's two reports): every
  # acknowledged report must be there.
  HELD[$1]="-"
  if command -v sqlite3 >/dev/null; then
    HELD[$1]=$(( $(sqlite3 "$WORK/$1/writes.db" 'SELECT COUNT(*) FROM reports') - 2 ))
  fi
}

for mode in full normal; do
  echo "== synchronous = $mode: $RIDERS riders, wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
  measure "$mode"
done

echo
echo "== results ($(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d$DURATION on 127.0.0.1; SQLite in WAL mode)"
printf '%-24s %12s %10s %9s %16s %14s\n' "XHB_SQLITE_SYNCHRONOUS" "requests/s" "p99" "non-2xx" "acknowledged/s" "reports held"
for mode in full normal; do
  printf '%-24s %12s %10s %9s %16s %14s\n' "$mode" "${RPS[$mode]}" "${P99[$mode]}" "${NON2XX[$mode]:-0}" \
    "${ACKED[$mode]}" "${HELD[$mode]}"
done
awk -v f="${ACKED[full]}" -v n="${ACKED[normal]}" 'BEGIN { if (n > 0) printf "full / normal acknowledged writes: %.2f\n", f / n }'
