#!/usr/bin/env bash
# Builds the web app (web/, Leptos CSR on wasm32) into web/dist and serves it on 127.0.0.1.
#   scripts/web-serve.sh               build, then serve on http://127.0.0.1:${PORT:-8765}/
#   scripts/web-serve.sh --build-only  build only
# Needs: rustup target wasm32-unknown-unknown, and the wasm-bindgen CLI of the exact version in
# web/Cargo.lock (`cargo install wasm-bindgen-cli --version <it>`, without --locked).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
web="$root/web"
target="${CARGO_TARGET_DIR:-$web/target}"
jobs="${CARGO_BUILD_JOBS:-2}"

want="$(grep -A1 '^name = "wasm-bindgen"$' "$web/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p')"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  echo "error: wasm-bindgen CLI $want is needed (found '${have:-none}'): cargo install wasm-bindgen-cli --version $want" >&2
  exit 2
fi

(cd "$web" && CARGO_TARGET_DIR="$target" cargo build --release -j "$jobs" --target wasm32-unknown-unknown)
rm -rf "$web/dist"
mkdir -p "$web/dist"
wasm-bindgen --target web --no-typescript --out-name lowp_web --out-dir "$web/dist/pkg" \
  "$target/wasm32-unknown-unknown/release/lowp-web.wasm"
cp "$web"/static/* "$web/dist/"
echo "built $web/dist ($(du -sh "$web/dist" | cut -f1))"

if [ "${1:-}" = "--build-only" ]; then
  exit 0
fi
port="${PORT:-8765}"
echo "serving http://127.0.0.1:$port/ (Ctrl-C stops)"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory "$web/dist"
