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
#     (target: points and ranking pages within 2x of GET /me, i.e. throughput ratio >= 0.5);
#  4. redemption under contention: the demo admin offers one reward (cost 1, stock 100,000) at a
#     demo station, and the same riders redeem it for $DURATION, every request a new attempt
#     (benches/redeem.lua); prints attempts/s, redemptions made/s (201) and refusals (409: a rider
#     out of points), then checks the stock left against the redemptions acknowledged.
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

# Redemption under contention: one reward, every rider at once.
ADMIN=$(curl -sf -X POST "$BASE/api/v1/auth/staff-login" -H 'Content-Type: application/json' \
  -d '{"username":"demo-admin","password":"demo"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
PLACE=$(curl -sf "$BASE/api/v1/places/nearby?lat=30.275&lng=120.16&radius_m=20000&limit=1" | json '["items"][0]["id"]')
UNTIL=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
REWARD=$(curl -sf -X POST "$BASE/api/v1/rewards" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  -d "{\"place_id\":\"$PLACE\",\"name\":\"矿泉水\",\"cost\":1,\"stock\":100000,\"valid_until\":\"$UNTIL\",\"pickup_secs\":86400}" |
  json '["id"]')
[ -n "$REWARD" ] || { echo "could not offer a reward"; exit 1; }
out=$(TOKENS="$WORK/points-tokens" REWARD_ID="$REWARD" \
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s benches/redeem.lua "$BASE")
echo "$out" >"$WORK/wrk-redeem.txt"
R_RPS=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
R_P50=$(echo "$out" | awk '$1 == "50%" {print $2}')
R_P99=$(echo "$out" | awk '$1 == "99%" {print $2}')
R_ALL=$(echo "$out" | awk '/ requests in / {print $1}')
R_REFUSED=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
R_SECS=$(echo "$DURATION" | sed 's/s$//')
STOCK=$(curl -sf "$BASE/api/v1/rewards/$REWARD" | json '["stock"]')

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
echo
echo "redemption of one reward by $(wc -l <"$WORK/points-tokens") riders at once (wrk -c$CONNECTIONS, $DURATION):"
echo "  attempts/s $R_RPS (p50 $R_P50, p99 $R_P99); redemptions made $(( R_ALL - ${R_REFUSED:-0} )) ($(( (R_ALL - ${R_REFUSED:-0}) / R_SECS ))/s); refused (409, out of points) ${R_REFUSED:-0}"
MADE=$((100000 - STOCK))
echo "  stock left $STOCK: $MADE redemptions committed; $(( R_ALL - ${R_REFUSED:-0} )) acknowledged to wrk, which stops"
echo "  with up to $CONNECTIONS requests in flight (committed, never counted): the two may differ by that much, never more"
[ "$MADE" -ge $(( R_ALL - ${R_REFUSED:-0} )) ] && [ "$MADE" -le $(( R_ALL - ${R_REFUSED:-0} + CONNECTIONS )) ] ||
  { echo "  MISMATCH between the stock and the redemptions"; exit 1; }
