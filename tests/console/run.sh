#!/usr/bin/env bash
# The staff console end to end (tests/console/e2e.test.mjs): headless Chromium from Debian,
# driven by playwright-core (pinned in package-lock.json), against the real binary on loopback.
# Installs what it needs; kept out of `cargo test`. Screenshots land in target/console-screenshots/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  echo "== installing chromium and CJK fonts (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
if [ ! -d tests/console/node_modules/playwright-core ] || [ tests/console/package-lock.json -nt tests/console/node_modules/.package-lock.json ]; then
  (cd tests/console && npm ci --no-audit --no-fund --silent)
fi
BIN="${BIN:-target/debug/xinhuoban}"
if [ -z "${SKIP_BUILD:-}" ]; then cargo build --quiet; fi
rm -rf target/console-screenshots
# Playwright must not look for browsers of its own: Debian's chromium is named explicitly.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
BIN="$BIN" CHROMIUM="${CHROMIUM:-$(command -v chromium)}" \
  node --test --test-concurrency=1 --test-reporter=spec tests/console/e2e.test.mjs
ls target/console-screenshots
