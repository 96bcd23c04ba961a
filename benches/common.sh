# Sourced by the HTTP load scripts (load.sh, writes.sh, bombs.sh) from the repository root:
# installs wrk if missing (unless NO_WRK=1), builds the release binary unless BIN names one ($BIN),
# makes the work directory ($WORK, kept when WORK_DIR names one; its `run` folder never is), and
# stops the server ($SERVER_PID) on exit.

if [ -z "${NO_WRK:-}" ] && ! command -v wrk >/dev/null; then
  echo "== installing wrk"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi

if [ -z "${BIN:-}" ]; then
  echo "== cargo build --release"
  cargo build --release -q
  BIN="$PWD/target/release/xinhuoban"
fi
WORK="${WORK_DIR:-$(mktemp -d)}"
mkdir -p "$WORK"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK/run"
  [ -n "${WORK_DIR:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
}
