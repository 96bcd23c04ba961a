#!/usr/bin/env bash
# The spec as a client developer meets it: Redocly's recommended rules, a TypeScript client
# generated with openapi-typescript, and the mini-program's and console's calls (src/calls.ts)
# type-checked under `tsc --strict`. Then proves the check has teeth: a spec that loses an
# operation, or changes a field's type, must fail it.
set -euo pipefail
cd "$(dirname "$0")"
SPEC=../../api-spec/openapi.yaml

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci (tests/contract)"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "== Redocly lint (recommended rules)"
npx --no-install redocly lint "$SPEC" --format stylish 2>&1 | grep -v -e "Node.js 20" -e "║" -e "╔" -e "╚" || true
npx --no-install redocly lint "$SPEC" --format summary >/dev/null 2>&1 || { echo "Redocly reports errors"; exit 1; }

echo "== openapi-typescript and tsc --strict"
npx --no-install openapi-typescript "$SPEC" -o generated/api.d.ts --silent
npx --no-install tsc --project tsconfig.json

echo "== the check fails on a spec that drifts"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for mutation in drop-operation retype-field; do
  rm -rf "$WORK/case" && mkdir -p "$WORK/case/generated" && cp -r src tsconfig.json "$WORK/case/"
  ln -s "$PWD/node_modules" "$WORK/case/node_modules"
  node mutate.mjs "$SPEC" "$WORK/mutant.yaml" "$mutation"
  npx --no-install openapi-typescript "$WORK/mutant.yaml" -o "$WORK/case/generated/api.d.ts" --silent
  if npx --no-install tsc --project "$WORK/case/tsconfig.json" >"$WORK/tsc.log" 2>&1; then
    echo "tsc accepted a spec with $mutation: the contract check has no teeth"; exit 1
  fi
  echo "   $mutation: refused ($(grep -c 'error TS' "$WORK/tsc.log") type errors)"
done
echo "== contract check passed"
