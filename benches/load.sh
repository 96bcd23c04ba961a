#!/usr/bin/env bash
# HTTP load test of nearby search, on loopback only.
#
#  1. builds the release binary and fills a fresh SQLite database with $PLACES generated places over
#     a 50 km x 50 km city (`xinhuoban demo places`);
#  2. $ROUNDS times (default 3): starts the server and drives /healthz, then GET
#     /api/v1/places/nearby from random centres (benches/nearby.lua), each with wrk for $DURATION;
#     prints requests/s, p99 and nearby / healthz for every round, and the median ratio.
#     With BASELINE_BIN=/path/to/an/older/xinhuoban, that binary is measured the same way in each
#     round right after (on a database it made itself from the same seed), so both ratios come
#     from interleaved rounds of one run on one machine;
#     then, $DEMAND_ROUNDS times (default 3), nearby with the demand map's counting on and off,
#     interleaved, and prints both medians and their ratio (the target: within 5%);
#  3. fills another database with $BIG places, starts the server cold and prints how long the index
#     load took and the resident memory once ready.
#
# Usage: bash benches/load.sh   (PLACES=100000 BIG=1000000 DURATION=20s CONNECTIONS=64 THREADS=1 ROUNDS=3
#                                WORK_DIR=/path/to/keep/databases BASELINE_BIN=/path/to/old/xinhuoban
#                                DEMAND_ROUNDS=0 to skip the counting rounds, SKIP_BIG=1 to skip step 3,
#                                EXTRA_ENV="XHB_NEARBY_FAST_PATH=false" to measure the typed handler)
set -euo pipefail
cd "$(dirname "$0")/.."

PLACES="${PLACES:-100000}"
BIG="${BIG:-1000000}"
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"
PORT="${PORT:-18080}"
BASE="http://127.0.0.1:$PORT"

# WORK_DIR keeps the generated databases between runs (generation of 1M places takes a minute or two).
source benches/common.sh

# Demo mode (no secrets needed; loopback only) on an explicit database; request logs off so the
# numbers measure the service, not the terminal.
generate_env() {
  env XHB_DEMO=true XHB_DATABASE_URL="sqlite://$WORK/$1.db" XHB_BIND="127.0.0.1:$PORT" \
    XHB_LOG_FORMAT=json XHB_LOG="warn,xinhuoban::service::places=info" "${@:2}"
}

generate() { # database name, places [binary]
  if [ -f "$WORK/$1.db" ]; then echo "== reusing $WORK/$1.db"; return; fi
  echo "== generating $2 places ($1)"
  local started=$SECONDS
  generate_env "$1" "${3:-$BIN}" demo places --count "$2" --side-km 50 >/dev/null
  echo "   took $((SECONDS - started)) s"
}

start_server() { # database name [binary]
  local bin="${2:-$BIN}"
  if curl -sf "$BASE/healthz" >/dev/null; then echo "port $PORT is taken"; exit 1; fi
  local started_ns
  started_ns=$(date +%s%N)
  # Started directly (not through a function) so that $! is the server itself.
  env XHB_DEMO=true XHB_DATABASE_URL="sqlite://$WORK/$1.db" XHB_BIND="127.0.0.1:$PORT" \
    XHB_LOG_FORMAT=json XHB_LOG="warn,xinhuoban::service::places=info" ${EXTRA_ENV:-} "$bin" serve >"$WORK/$1.log" 2>&1 &
  SERVER_PID=$!
  until curl -sf "$BASE/readyz" >/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/$1.log"; exit 1; }
    sleep 0.05
  done
  READY_MS=$(( ($(date +%s%N) - started_ns) / 1000000 ))
  LOAD_MS=$(grep -o '"ms":[0-9]*' "$WORK/$1.log" | head -1 | cut -d: -f2)
  LOADED=$(grep -o '"places":[0-9]*' "$WORK/$1.log" | head -1 | cut -d: -f2)
}

wrk_run() { # name, extra wrk args...
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "${@:2}")
  echo "$out" > "$WORK/wrk-$1.txt"
  RPS=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  P99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  NON2XX=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One round for one binary: a fresh server, /healthz then nearby, each for $DURATION.
measure_round() { # label binary database round
  start_server "$3" "$2"
  if [ "$4" = 1 ]; then
    echo "== $1: server ready in ${READY_MS} ms with $LOADED places in the index (load ${LOAD_MS} ms)"
    (curl -sf "$BASE/api/v1/places/nearby?lat=30.275&lng=120.16" || true) | head -c 300; echo
  fi
  wrk -t1 -c8 -d2s -s benches/nearby.lua "$BASE" >/dev/null  # warm-up
  wrk_run "healthz-$1-$4" "$BASE/healthz"
  local h_rps=$RPS h_p99=$P99
  wrk_run "nearby-$1-$4" -s benches/nearby.lua "$BASE"
  local rss
  rss=$(ps -o rss= -p "$SERVER_PID" | tr -d ' ')
  stop_server
  ROUND_LINES[$1]+=$(printf '%-10s %6s %14s %10s %14s %10s %8s %8s' "$1" "$4" "$h_rps" "$h_p99" "$RPS" "$P99" \
    "$(awk -v n="$RPS" -v h="$h_rps" 'BEGIN { printf "%.3f", n / h }')" "${NON2XX:-0}")$'\n'
  RATIOS[$1]+="$(awk -v n="$RPS" -v h="$h_rps" 'BEGIN { printf "%.4f", n / h }') "
  H_ALL[$1]+="$h_rps " N_ALL[$1]+="$RPS "
  RSS_SMALL[$1]=$rss
}

report() { # label
  printf '%-10s %6s %14s %10s %14s %10s %8s %8s\n' "binary" "round" "healthz req/s" "p99" "nearby req/s" "p99" "ratio" "non-2xx"
  printf '%s' "${ROUND_LINES[$1]}"
  # shellcheck disable=SC2086
  printf 'medians: healthz %.0f, nearby %.0f; median of the per-round ratios: %s (target >= 0.6)\n' \
    "$(median ${H_ALL[$1]})" "$(median ${N_ALL[$1]})" "$(median ${RATIOS[$1]})"
  echo "RSS with $PLACES places after the last round: $((RSS_SMALL[$1] / 1024)) MB"
}

# $ROUNDS rounds (default 3), each binary once per round, interleaved: the rounds see the same noise.
ROUNDS="${ROUNDS:-3}"
declare -A ROUND_LINES RATIOS H_ALL N_ALL RSS_SMALL
generate load "$PLACES"
if [ -n "${BASELINE_BIN:-}" ]; then
  # Its own database, made by itself (same seed, so the same places): its migrations may be older.
  generate load-baseline "$PLACES" "$BASELINE_BIN"
fi
for round in $(seq 1 "$ROUNDS"); do
  measure_round current "$BIN" load "$round"
  if [ -n "${BASELINE_BIN:-}" ]; then measure_round baseline "$BASELINE_BIN" load-baseline "$round"; fi
done

# The demand map's counting on and off, interleaved rounds on the same database.
DEMAND_ROUNDS="${DEMAND_ROUNDS:-3}"
ON_RPS=() OFF_RPS=()
for round in $(seq 1 "$DEMAND_ROUNDS"); do
  for mode in on off; do
    if [ "$mode" = on ]; then EXTRA_ENV="XHB_DEMAND_COUNTING=true"; else EXTRA_ENV="XHB_DEMAND_COUNTING=false"; fi
    start_server load
    wrk -t1 -c8 -d2s -s benches/nearby.lua "$BASE" >/dev/null  # warm-up
    wrk_run "nearby-counting-$mode-$round" -s benches/nearby.lua "$BASE"
    if [ "$mode" = on ]; then ON_RPS+=("$RPS"); else OFF_RPS+=("$RPS"); fi
    stop_server
  done
done
EXTRA_ENV=""

if [ -z "${SKIP_BIG:-}" ]; then
  generate big "$BIG"
  start_server big
  RSS_BIG=$(ps -o rss= -p "$SERVER_PID" | tr -d ' ')
  BIG_READY=$READY_MS BIG_LOAD=$LOAD_MS BIG_LOADED=$LOADED
  stop_server
fi

echo
echo "== results ($(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d$DURATION on 127.0.0.1)"
echo "nearby: 3 km, 20 nearest, random centres ($PLACES places); ratio = nearby / healthz in the same round"
report current
if [ -n "${BASELINE_BIN:-}" ]; then echo; report baseline; fi
if [ "$DEMAND_ROUNDS" -gt 0 ]; then
  echo
  echo "nearby with demand counting on  (req/s per round): ${ON_RPS[*]}"
  echo "nearby with demand counting off (req/s per round): ${OFF_RPS[*]}"
  awk -v on="$(median "${ON_RPS[@]}")" -v off="$(median "${OFF_RPS[@]}")" \
    'BEGIN { printf "medians: on %.0f, off %.0f; on / off = %.3f (target >= 0.95)\n", on, off, on / off }'
fi
if [ -z "${SKIP_BIG:-}" ]; then
  echo "cold start with $BIG_LOADED places: index loaded in ${BIG_LOAD} ms, ready in ${BIG_READY} ms (target <= 5000 ms)"
  echo "RSS with $BIG_LOADED places once ready: $((RSS_BIG / 1024)) MB (target <= 400 MB)"
fi
