#!/usr/bin/env bash
# Builds the web app and the lowp CLI (the source of every expected value), serves the app on
# 127.0.0.1 and runs the end-to-end test in headless Chromium (e2e/test.mjs, playwright-core).
# Screenshots and report: e2e/artifacts/.
# Needs: chromium at /usr/bin/chromium (apt-get install -y chromium), node + npm, and what
# scripts/web-serve.sh needs. Set LOWP_BIN to use an already built `lowp` binary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PORT:-8765}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  echo "error: no Chromium at $chromium (apt-get install -y chromium, or set CHROMIUM)" >&2
  exit 2
fi
export CHROMIUM="$chromium"

"$root/scripts/web-serve.sh" --build-only
if [ -z "${LOWP_BIN:-}" ]; then
  (cd "$root" && cargo build -q -p lowp-cli -j "${CARGO_BUILD_JOBS:-2}")
  LOWP_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/lowp"
fi
export LOWP_BIN
(cd "$root/e2e" && npm ci --no-audit --no-fund --silent)

python3 -m http.server "$port" --bind 127.0.0.1 --directory "$root/web/dist" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/')" 2>/dev/null && break
  sleep 0.1
done
E2E_URL="http://127.0.0.1:$port/" node "$root/e2e/test.mjs"
