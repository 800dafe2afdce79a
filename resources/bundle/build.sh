#!/usr/bin/env bash
# Build the double-clickable one-folder program with PyInstaller and prove that it works:
# it must start (offscreen), compress the bundled sample photo in the window, and run the
# command line.  Usage: resources/bundle/build.sh [OUT_DIR]   (default: dist/)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/dist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --upgrade pip
"$WORK/venv/bin/pip" install --quiet "$ROOT" pyinstaller
started=$(date +%s)
"$WORK/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$OUT" --workpath "$WORK/build" "$ROOT/resources/bundle/kmeans-image-compressor.spec"
echo "built in $(( $(date +%s) - started )) s: $OUT/kmeans-image-compressor ($(du -sh "$OUT/kmeans-image-compressor" | cut -f1))"

# Prove it: no Python from here on, only the bundle.
APP="$OUT/kmeans-image-compressor/kmeans-image-compressor"
export QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME="$WORK/config"
"$APP" --version
"$APP" --screenshot "$WORK/window.png"
test -s "$WORK/window.png" && echo "window: started and compressed the sample photo ($WORK/window.png)"
cp "$WORK/window.png" "$OUT/bundle-check.png"
"$APP" compress "$("$WORK/venv/bin/python" -c 'import matplotlib.cbook as c; print(c.get_sample_data("grace_hopper.jpg", asfileobj=False))')" \
    -k 16 -o "$WORK/hopper-k16.png"
test -s "$WORK/hopper-k16.png" && echo "command line: compressed the sample photo"
