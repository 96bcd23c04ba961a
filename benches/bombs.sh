#!/usr/bin/env bash
# Peak memory under decompression bombs, on loopback only.
#
#  1. builds the release binary and makes the files (python3, cached in $WORK): real bombs, a few
#     megabytes each that decode to gigabytes (a PNG of 16384 x 16384 RGBA at 16 bits a channel,
#     2.1 GB of pixels; the same at RGB 8-bit, 805 MB; a baseline JPEG of 16384 x 16384, 805 MB),
#     a WebP whose header claims 16383 x 16383, and honest 12 MP photos (4000 x 3000 baseline
#     JPEGs, as a phone sends them);
#  2. starts the server in demo mode on a fresh SQLite database and posts $BOMBS bombs and
#     $HONEST honest photos to POST /api/v1/media all at once, $ROUNDS times;
#  3. prints what each got back and the server's peak resident memory (VmHWM from
#     /proc/<pid>/status) against the target.
#
# Usage: bash benches/bombs.sh   (BOMBS=8 HONEST=4 ROUNDS=3 TARGET_MB=600 PORT=18090
#                                 WORK_DIR=/path/to/keep/the/files BIN=/path/to/xinhuoban)
set -euo pipefail
cd "$(dirname "$0")/.."

BOMBS="${BOMBS:-8}"
HONEST="${HONEST:-4}"
ROUNDS="${ROUNDS:-3}"
TARGET_MB="${TARGET_MB:-600}"
PORT="${PORT:-18090}"
BASE="http://127.0.0.1:$PORT"

NO_WRK=1 source benches/common.sh
mkdir -p "$WORK/files"

echo "== making the files in $WORK/files"
python3 - "$WORK/files" <<'PY'
import os, struct, sys, zlib

out = sys.argv[1]

def png(path, width, height, colour_type, bytes_per_pixel, bit_depth):
    """A real PNG of zeros: a few megabytes that decode to width x height x bytes_per_pixel."""
    if os.path.exists(path):
        return
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    z = zlib.compressobj(9)
    row = b"\0" * (1 + width * bytes_per_pixel)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))

def jpeg(path, width, height, shade):
    """A real baseline JPEG, YCbCr 4:4:4, each 8x8 block one flat colour (DC only): cheap to
    write here, and a full decode for the server all the same."""
    if os.path.exists(path):
        return
    dc_bits = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]  # ITU T.81 K.3, DC luminance
    codes, code, k = {}, 0, 0
    for length, count in enumerate(dc_bits, start=1):
        for _ in range(count):
            codes[k] = (code, length)
            code, k = code + 1, k + 1
        code <<= 1
    blocks = ((width + 7) // 8) * ((height + 7) // 8) * 3
    if shade is None:
        # All black: every block is a zero difference ("00") and an end of block ("0"), so
        # the whole scan is zero bits, padded with ones.
        bits = blocks * 3
        data = bytes(bits // 8) + (bytes([(1 << (8 - bits % 8)) - 1]) if bits % 8 else b"")
        return write_jpeg(path, width, height, dc_bits, data)
    data, acc, n = bytearray(), 0, 0
    def put(value, length):
        nonlocal acc, n
        acc, n = (acc << length) | value, n + length
        while n >= 8:
            n -= 8
            byte = (acc >> n) & 0xFF
            data.append(byte)
            if byte == 0xFF:
                data.append(0)
        acc &= (1 << n) - 1
    previous = [0, 0, 0]
    for by in range((height + 7) // 8):
        for bx in range((width + 7) // 8):
            for c, level in enumerate(shade(bx, by)):
                diff, previous[c] = level - previous[c], level
                size = abs(diff).bit_length()
                put(*codes[size])
                if size:
                    put(diff if diff > 0 else diff + (1 << size) - 1, size)
                put(0, 1)  # end of block: the AC table's one code
    if n:
        put((1 << (8 - n)) - 1, 8 - n)
    write_jpeg(path, width, height, dc_bits, bytes(data))

def write_jpeg(path, width, height, dc_bits, scan):
    def segment(marker, body):
        return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body
    head = b"\xff\xd8"
    head += segment(0xDB, b"\x00" + bytes([8] * 64))  # every coefficient quantised by 8
    head += segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00")
    head += segment(0xC4, b"\x00" + bytes(dc_bits) + bytes(range(12)))
    head += segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
    head += segment(0xDA, b"\x03\x01\x00\x02\x00\x03\x00\x00\x3f\x00")
    with open(path, "wb") as f:
        f.write(head + scan + b"\xff\xd9")

def webp_header_only(path, width, height):
    """A lossless WebP header claiming width x height, with no pixels behind it."""
    bits = (width - 1) | ((height - 1) << 14)
    vp8l = b"\x2f" + struct.pack("<I", bits) + b"\0" * 16
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body)) + body)

png(f"{out}/bomb-rgba16.png", 16384, 16384, 6, 8, 16)
png(f"{out}/bomb-rgb8.png", 16384, 16384, 2, 3, 8)
jpeg(f"{out}/bomb.jpg", 16384, 16384, None)
webp_header_only(f"{out}/bomb.webp", 16383, 16383)
for i in range(4):
    # A sky-to-street gradient with some texture: the quantised DC levels (-128..127).
    jpeg(f"{out}/honest-{i}.jpg", 4000, 3000,
         lambda bx, by, i=i: ((bx * 7 + by * 3 + i * 17) % 200 - 100, (bx // 4) % 60 - 30, (by // 4) % 60 - 30))
PY
ls -l "$WORK/files" | awk 'NR > 1 { printf "   %-18s %6.2f MB\n", $9, $5 / 1e6 }'

if curl -sf "$BASE/healthz" >/dev/null; then echo "port $PORT is taken"; exit 1; fi
mkdir -p "$WORK/run"
echo "== starting $BIN on $BASE"
# Started directly (not through a function) so that $! is the server itself.
env XHB_DEMO=true XHB_DATABASE_URL="sqlite://$WORK/run/bombs.db" XHB_MEDIA_DIR="$WORK/run/media" \
  XHB_BIND="127.0.0.1:$PORT" XHB_LOG_FORMAT=json XHB_LOG=warn "$BIN" serve >"$WORK/run/server.log" 2>&1 &
SERVER_PID=$!
until curl -sf "$BASE/readyz" >/dev/null; do
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/run/server.log"; exit 1; }
  sleep 0.05
done
memory() { awk -v k="$1:" '$1 == k { printf "%d", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
token() {
  curl -sf "$BASE/api/v1/auth/wechat-login" -H 'content-type: application/json' -d "{\"code\": \"demo-$1\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
echo "   resident when ready: $(memory VmRSS) MB"

BOMB_FILES=("$WORK"/files/bomb*)
post() { # token file → HTTP status
  curl -s -o /dev/null -w '%{http_code}' --max-time 120 -H "authorization: Bearer $1" -F "file=@$2" "$BASE/api/v1/media"
}
tokens=()
for i in $(seq 1 $((BOMBS + HONEST))); do tokens+=("$(token "poster$i")"); done
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round: $BOMBS bombs and $HONEST honest 12 MP photos at once"
  results="$WORK/run/round-$round"
  mkdir -p "$results"
  posters=()
  for i in $(seq 1 $((BOMBS + HONEST))); do
    if [ "$i" -le "$BOMBS" ]; then
      file="${BOMB_FILES[$(( (i - 1) % ${#BOMB_FILES[@]} ))]}"; kind=bomb
    else
      file="$WORK/files/honest-$(( (i - 1) % 4 )).jpg"; kind=honest
    fi
    ( echo "$(basename "$file") $(post "${tokens[$((i - 1))]}" "$file")" >"$results/$kind-$i" ) &
    posters+=($!)
  done
  wait "${posters[@]}"
  sort "$results"/* | uniq -c | awk '{ printf "   %2d x %-18s -> %s\n", $1, $2, $3 }'
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "the server died"; tail -5 "$WORK/run/server.log"; exit 1; }
  echo "   peak resident so far (VmHWM): $(memory VmHWM) MB; now $(memory VmRSS) MB"
done

refused=$(cat "$WORK"/run/round-*/bomb-* | awk '$2 == 422' | wc -l)
stored=$(cat "$WORK"/run/round-*/honest-* | awk '$2 == 201' | wc -l)
peak=$(memory VmHWM)
echo "== bombs refused (422): $refused of $((BOMBS * ROUNDS)); honest photos stored (201): $stored of $((HONEST * ROUNDS))"
echo "== peak resident memory (VmHWM): $peak MB (target < $TARGET_MB MB)"
if [ "$refused" -eq $((BOMBS * ROUNDS)) ] && [ "$stored" -eq $((HONEST * ROUNDS)) ] && [ "$peak" -lt "$TARGET_MB" ]; then
  echo "== PASS"
else
  echo "== FAIL"; exit 1
fi
