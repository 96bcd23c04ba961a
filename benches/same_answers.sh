#!/usr/bin/env bash
# Do two builds answer nearby searches byte for byte alike? Starts this tree's release binary and
# $BASELINE_BIN on one SQLite database of $PLACES generated places (loopback only), asks both the
# same $QUERIES random searches (both coordinate systems, every filter, every limit) and prints how
# many answers were identical. Exits 1 on any difference.
#
# Usage: BASELINE_BIN=/path/to/older/xinhuoban bash benches/same_answers.sh   (PLACES=100000 QUERIES=1000
#        WORK_DIR=/path/to/keep/databases)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BASELINE_BIN:?name the older binary to compare with}"
PLACES="${PLACES:-100000}"
NO_WRK=1 source benches/common.sh

DB="sqlite://$WORK/same-answers.db"
if [ ! -f "$WORK/same-answers.db" ]; then
  # Made by the older binary, whose migrations the newer one carries too.
  env XHB_DEMO=true XHB_DATABASE_URL="$DB" XHB_LOG=warn "$BASELINE_BIN" demo places --count "$PLACES" --side-km 50 >/dev/null
fi
PIDS=()
cleanup_both() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup; }
trap cleanup_both EXIT
for pair in "$BASELINE_BIN 18082" "$BIN 18083"; do
  set -- $pair
  env XHB_DEMO=true XHB_DATABASE_URL="$DB" XHB_BIND="127.0.0.1:$2" XHB_LOG=warn "$1" serve >"$WORK/same-$2.log" 2>&1 &
  PIDS+=($!)
done
until curl -sf 127.0.0.1:18082/readyz >/dev/null && curl -sf 127.0.0.1:18083/readyz >/dev/null; do sleep 0.2; done
QUERIES="${QUERIES:-1000}" python3 - <<'PY'
import os, random, sys, urllib.request
random.seed(14)
kinds = ["station", "parking_zone", "friendly_site"]
amenities = ["drinking_water", "hot_water", "microwave", "phone_charging", "ebike_charging", "battery_swap",
             "toilet", "rest_seating", "air_conditioning", "heating", "rain_shelter", "wifi", "first_aid",
             "repair_kit", "umbrella_lending", "lockers", "union_service", "legal_aid"]
same = places = 0
differ = []
for _ in range(int(os.environ["QUERIES"])):
    q = f"lat={30.275 + random.uniform(-0.23, 0.23):.6f}&lng={120.16 + random.uniform(-0.26, 0.26):.6f}"
    if random.random() < 0.5: q += "&coord=" + random.choice(["gcj02", "wgs84"])
    if random.random() < 0.6: q += f"&radius_m={random.randint(1, 20000)}"
    if random.random() < 0.6: q += f"&limit={random.randint(1, 100)}"
    q += "".join("&kind=" + k for k in kinds if random.random() < 0.3)
    q += "".join("&amenity=" + a for a in amenities if random.random() < 0.05)
    if random.random() < 0.3: q += "&open_now=" + random.choice(["true", "false"])
    old = urllib.request.urlopen(f"http://127.0.0.1:18082/api/v1/places/nearby?{q}").read()
    new = urllib.request.urlopen(f"http://127.0.0.1:18083/api/v1/places/nearby?{q}").read()
    if old == new:
        same += 1
        places += old.count(b'"id"')
    else:
        differ.append(q)
print(f"identical answers: {same} of {same + len(differ)} ({places} places in them)")
for q in differ[:10]:
    print("differs:", q)
sys.exit(1 if differ else 0)
PY
