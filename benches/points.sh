#!/usr/bin/env bash
# Governance points under load, on loopback only: a rider's points page and a ranking page against
# GET /me (the cheapest authenticated read) on a city with $ENTRIES ledger entries over $RIDERS
# riders, side by side in one run.
#
#  1. builds the release binary and fills a SQLite database with $RIDERS demo riders and $ENTRIES
#     ledger entries posted through the ledger (`xinhuoban demo points`; reused from WORK_DIR);
#  2. starts the server, logs $TOKENS_N of those riders in, and drives, in $ROUNDS interleaved
#     rounds of $DURATION each: GET /api/v1/me, GET /api/v1/me/points (balance, this month and
#     the first 20 entries of the ledger) and GET /api/v1/points/rankings (this month's top 20
#     and the reader's own rank), each with a random rider's token (benches/authed_get.lua);
#  3. prints each round's requests/s and p50/p99, the medians over the rounds, and the ratios
#     (target: points and ranking pages within 2x of GET /me, i.e. throughput ratio >= 0.5).
#
# Usage: bash benches/points.sh   (RIDERS=100000 ENTRIES=1000000 DURATION=10s ROUNDS=3
#                                  CONNECTIONS=32 THREADS=1 TOKENS_N=500 PORT=18082
#                                  WORK_DIR=/path/to/keep/the/database)
set -euo pipefail
cd "$(dirname "$0")/.."

RIDERS="${RIDERS:-100000}"
ENTRIES="${ENTRIES:-1000000}"
DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
TOKENS_N="${TOKENS_N:-500}"
PORT="${PORT:-18082}"
BASE="http://127.0.0.1:$PORT"

source benches/common.sh
DB="$WORK/points-$RIDERS-$ENTRIES.db"

if [ -f "$DB" ]; then
  echo "== reusing $DB"
else
  echo "== generating $ENTRIES ledger entries over $RIDERS riders"
  started=$SECONDS
  env XHB_DEMO=true XHB_DATABASE_URL="sqlite://$DB" XHB_LOG_FORMAT=json XHB_LOG=warn \
    "$BIN" demo points --riders "$RIDERS" --entries "$ENTRIES" >/dev/null
  echo "   took $((SECONDS - started)) s"
fi

if curl -sf "$BASE/healthz" >/dev/null; then echo "port $PORT is taken"; exit 1; fi
env XHB_DEMO=true XHB_DATABASE_URL="sqlite://$DB" XHB_BIND="127.0.0.1:$PORT" XHB_LOG_FORMAT=json XHB_LOG=warn \
  "$BIN" serve >"$WORK/points-server.log" 2>&1 &
SERVER_PID=$!
until curl -sf "$BASE/readyz" >/dev/null; do
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/points-server.log"; exit 1; }
  sleep 0.05
done

# Riders spread over the whole population: bench0, bench(RIDERS/TOKENS_N), …
: >"$WORK/points-tokens"
step=$((RIDERS / TOKENS_N)); [ "$step" -ge 1 ] || step=1
for i in $(seq 0 "$step" $((RIDERS - 1)) | head -n "$TOKENS_N"); do
  curl -sf -X POST "$BASE/api/v1/auth/wechat-login" -H 'Content-Type: application/json' \
    -d "{\"code\":\"demo-bench$i\"}" | sed -E 's/.*"token":"([^"]+)".*/\1/' >>"$WORK/points-tokens"
  echo >>"$WORK/points-tokens"
done
sed -i '/^$/d' "$WORK/points-tokens"
TOKEN=$(head -1 "$WORK/points-tokens")
echo "== a rider's points page:"
curl -sf "$BASE/api/v1/me/points?limit=2" -H "Authorization: Bearer $TOKEN" | head -c 400; echo
echo "== this month's ranking, top 2:"
curl -sf "$BASE/api/v1/points/rankings?limit=2" -H "Authorization: Bearer $TOKEN" | head -c 400; echo

declare -A PATHS=([me]="/api/v1/me" [points]="/api/v1/me/points" [ranking]="/api/v1/points/rankings")
NAMES=(me points ranking)
declare -A RPS P50 P99
for name in "${NAMES[@]}"; do  # warm-up
  TOKENS="$WORK/points-tokens" URL_PATH="${PATHS[$name]}" wrk -t1 -c8 -d2s -s benches/authed_get.lua "$BASE" >/dev/null
done
for round in $(seq 1 "$ROUNDS"); do
  for name in "${NAMES[@]}"; do
    out=$(TOKENS="$WORK/points-tokens" URL_PATH="${PATHS[$name]}" \
      wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s benches/authed_get.lua "$BASE")
    echo "$out" >"$WORK/wrk-points-$name-$round.txt"
    bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    [ -z "$bad" ] || { echo "$name: $bad non-2xx answers"; exit 1; }
    RPS[$name]+="$(echo "$out" | awk '/Requests\/sec/ {print $2}') "
    P50[$name]+="$(echo "$out" | awk '$1 == "50%" {print $2}') "
    P99[$name]+="$(echo "$out" | awk '$1 == "99%" {print $2}') "
  done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "== results ($(nproc) cores; $ENTRIES entries over $RIDERS riders; wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $ROUNDS interleaved rounds)"
printf "%-28s %-30s %12s %10s %10s\n" endpoint "requests/s per round" "median r/s" "p50 (r1)" "p99 (r1)"
for name in "${NAMES[@]}"; do
  printf '%-28s %-30s %12s %10s %10s\n' "${PATHS[$name]}" "${RPS[$name]}" \
    "$(echo "${RPS[$name]}" | median)" "$(echo "${P50[$name]}" | awk '{print $1}')" "$(echo "${P99[$name]}" | awk '{print $1}')"
done
ME=$(echo "${RPS[me]}" | median)
for name in points ranking; do
  awk -v x="$(echo "${RPS[$name]}" | median)" -v me="$ME" -v n="$name" \
    'BEGIN { printf "%s / me throughput: %.2f (target >= 0.5: within 2x of GET /me)\n", n, x / me }'
done
