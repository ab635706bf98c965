#!/usr/bin/env bash
# Smoke test of the Debian package, as a user would try it (needs root for dpkg/apt).
#
#   packaging/smoke.sh [DEB] [OUT_DIR]     (default: build it with packaging/build_deb.sh)
#
# Installs the .deb, runs `transfigure --version`, a `transfigure remove` (classic and
# guided, which runs the shipped network) and a `transfigure translate` on a generated
# photo, opens the window under Xvfb from the desktop entry's Exec line with a
# photo argument (timing it and taking a screenshot), uninstalls, and checks that the
# package left no file behind. Exits non-zero on the first failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
deb="${1:-}"
out="${2:-$(dirname "$here")/build/smoke}"
mkdir -p "$out"
if [ -z "$deb" ]; then deb="$("$here/build_deb.sh")"; fi
deb="$(realpath "$deb")"
work="$(mktemp -d)"
xvfb_pid=""
cleanup() {
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
say() { echo "smoke: $*"; }
places=(/opt /usr/bin /usr/share/applications /usr/share/icons/hicolor /usr/share/metainfo /usr/share/doc)
snapshot() { find "${places[@]}" -xdev 2>/dev/null | sort; }

if dpkg-query -W -f='${Status}' transfigure 2>/dev/null | grep -q 'ok installed'; then
    echo "transfigure is already installed; remove it first (apt-get purge transfigure)." >&2
    exit 1
fi
snapshot > "$work/before.txt"
say "installing $(basename "$deb") ($(du -h "$deb" | cut -f1))"
apt-get install -y -qq "$deb" >/dev/null
say "installed: $(du -sh /opt/transfigure | cut -f1) under /opt/transfigure"
version="$(transfigure --version)"
say "$version"

# A photo and a mask in formats any system writes without libraries (PPM, PGM).
python3 - "$work" <<'PY'
import sys, math
folder = sys.argv[1]
w, h = 160, 120
pixels = bytearray()
for y in range(h):
    for x in range(w):
        pixels += bytes((int(127 + 100 * math.sin(x / 5)), int(127 + 90 * math.sin(y / 7)), 90))
open(f"{folder}/photo.ppm", "wb").write(b"P6 %d %d 255\n" % (w, h) + pixels)
mask = bytes(255 if 40 <= x < 90 and 30 <= y < 70 else 0 for y in range(h) for x in range(w))
open(f"{folder}/mask.pgm", "wb").write(b"P5 %d %d 255\n" % (w, h) + mask)
PY
transfigure remove "$work/photo.ppm" --mask "$work/mask.pgm" -o "$work/clean.png"
test -s "$work/clean.png"
say "remove: wrote clean.png ($(du -b "$work/clean.png" | cut -f1) bytes)"
# The shipped networks, through the bundle's PyTorch: the guided Remove and Translate.
transfigure remove "$work/photo.ppm" --mask "$work/mask.pgm" --engine guided -o "$work/guided.png"
transfigure translate "$work/photo.ppm" -o "$work/zebra.png"
test -s "$work/guided.png" && test -s "$work/zebra.png"
say "the shipped models run: guided remove and translate wrote their results"

# The window, started as the application menu starts it: the entry's Exec line.
exec_line="$(sed -n 's/^Exec=//p' /usr/share/applications/transfigure.desktop)"
command_line="${exec_line//%F/$work/photo.ppm}"
display=":$((90 + RANDOM % 9))"
Xvfb "$display" -screen 0 1280x860x24 >/dev/null 2>&1 &
xvfb_pid=$!
sleep 1
started=$(date +%s.%N)
HOME="$work" DISPLAY="$display" $command_line >"$work/window.log" 2>&1 &
app_pid=$!
shown=""
for _ in $(seq 1 300); do
    if DISPLAY="$display" xwininfo -root -tree 2>/dev/null | grep -q '"photo.ppm — Transfigure"'; then
        shown=$(date +%s.%N); break
    fi
    sleep 0.1
done
if [ -z "$shown" ]; then
    echo "the window did not open with the photo:" >&2; cat "$work/window.log" >&2; exit 1
fi
say "window with the photo open after $(python3 -c "print(f'{$shown - $started:.2f}')") s"
sleep 2
DISPLAY="$display" import -window root "$out/window.png" 2>/dev/null || say "(no screenshot: ImageMagick's import is missing)"
kill "$app_pid" 2>/dev/null || true
wait "$app_pid" 2>/dev/null || true

apt-get purge -y -qq transfigure >/dev/null
snapshot > "$work/after.txt"
if ! diff -u "$work/before.txt" "$work/after.txt" > "$work/left.txt"; then
    echo "uninstall left files behind:" >&2; cat "$work/left.txt" >&2; exit 1
fi
say "uninstalled; nothing left behind. Screenshot: $out/window.png"
