#!/usr/bin/env bash
# Schemathesis with every check against the real binary on a fresh demo SQLite, three times: as an
# anonymous caller, as a rider and as a city admin. Exits non-zero on any failure.
#   BIN=target/debug/xinhuoban MAX_TIME=60 [CHECKS=all] bash tests/contract/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
BIN="$(realpath "${BIN:-target/debug/xinhuoban}")"
ST="${ST:-$ROOT/target/contract-venv/bin/st}"
MAX_TIME="${MAX_TIME:-60}"
PORT="${PORT:-$((20000 + RANDOM % 20000))}"
BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  [ -z "$SERVER_PID" ] || { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$WORK" && XHB_BIND="127.0.0.1:$PORT" XHB_LOG=error exec "$BIN" >"$WORK/server.log" 2>&1) &
SERVER_PID=$!
for _ in $(seq 1 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
curl -fs "$BASE/healthz" >/dev/null || { cat "$WORK/server.log"; exit 1; }

token() { sed -n 's/.*"token":"\([^"]*\)".*/\1/p'; }
RIDER=$(curl -fs -H 'content-type: application/json' -d '{"code":"demo-schemathesis"}' "$BASE/api/v1/auth/wechat-login" | token)
ADMIN=$(curl -fs -H 'content-type: application/json' -d '{"username":"demo-admin","password":"demo"}' "$BASE/api/v1/auth/staff-login" | token)
[ -n "$RIDER" ] && [ -n "$ADMIN" ] || { echo "could not log in"; exit 1; }

status=0
run() {
  local who="$1"; shift
  echo "== schemathesis as $who ($MAX_TIME s)"
  # Logging out would end the session the rest of the run uses.
  "$ST" --config-file "$ROOT/tests/contract/schemathesis.toml" run "$ROOT/api-spec/openapi.yaml" --url "$BASE/api/v1" --checks "${CHECKS:-all}" --max-time "$MAX_TIME" \
    --exclude-operation-id auth_logout --suppress-health-check all "$@" || status=1
}
run "an anonymous caller"
run "a rider" -H "Authorization: Bearer $RIDER"
run "a city admin" -H "Authorization: Bearer $ADMIN"
exit $status
