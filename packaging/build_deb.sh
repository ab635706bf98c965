#!/usr/bin/env bash
# Build transfigure_<version>_amd64.deb from the PyInstaller bundle (packaging/README.md).
#
#   packaging/build_deb.sh [BUNDLE_DIR] [OUT_DIR]     (defaults: build/bundle/transfigure, build)
#
# The package installs the bundle under /opt/transfigure, the command /usr/bin/transfigure,
# the desktop entry (with every photo type it opens, so it is in Open With), the icons in
# the hicolor theme and the AppStream metainfo; dpkg removes all of it on uninstall.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root_dir="$(dirname "$here")"
bundle="${1:-$root_dir/build/bundle/transfigure}"
out="${2:-$root_dir/build}"
python="${PYTHON:-python3}"

if [ ! -x "$bundle/transfigure" ]; then
    echo "No bundle at $bundle: build it first (make package, or pyinstaller packaging/transfigure.spec)." >&2
    exit 1
fi
version="$("$python" -c "import tomllib; print(tomllib.load(open('$root_dir/pyproject.toml', 'rb'))['project']['version'])")"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

install -d "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
    "$stage/usr/share/metainfo" "$stage/usr/share/doc/transfigure"
cp -a "$bundle" "$stage/opt/transfigure"
ln -s /opt/transfigure/transfigure "$stage/usr/bin/transfigure"
# The entry's text comes from the same code as `transfigure desktop install`.
PYTHONPATH="$root_dir" "$python" -c "
from app.desktop_entry import desktop_entry
print(desktop_entry(['/usr/bin/transfigure']), end='')" > "$stage/usr/share/applications/transfigure.desktop"
for icon in "$root_dir"/resources/icons/hicolor/*/apps/transfigure.png; do
    size="$(basename "$(dirname "$(dirname "$icon")")")"
    install -D -m 644 "$icon" "$stage/usr/share/icons/hicolor/$size/apps/transfigure.png"
done
install -D -m 644 "$root_dir/resources/icons/transfigure.svg" \
    "$stage/usr/share/icons/hicolor/scalable/apps/transfigure.svg"
install -m 644 "$here/io.github.transfigure.metainfo.xml" "$stage/usr/share/metainfo/"
install -m 644 "$root_dir/LICENSE" "$stage/usr/share/doc/transfigure/copyright"

installed_kb="$(du -sk --exclude=DEBIAN "$stage" | cut -f1)"
# The bundle runs on the C library it was built against, or a newer one.
glibc="$(ldd --version | head -1 | awk '{print $NF}')"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: transfigure
Version: $version
Architecture: amd64
Maintainer: The Transfigure authors <transfigure@localhost>
Installed-Size: $installed_kb
Depends: libc6 (>= $glibc), libxcb-cursor0, libxkbcommon-x11-0, libxcb-icccm4, libxcb-keysyms1, libgl1, libegl1, libfontconfig1, libdbus-1-3
Section: graphics
Priority: optional
Description: photo editor: remove distractors, composite objects
 Transfigure removes distractors from photos (the hole is filled with the
 photo's own texture, structure kept), composites objects from other photos,
 translates horses into zebras and changes expressions, with the methods of
 a dissertation on deep generative models. Everything runs locally.
CONTROL
for script in postinst postrm; do
    cat > "$stage/DEBIAN/$script" <<'SCRIPT'
#!/bin/sh
# Refresh the desktop's caches where the system keeps them (none is created: a
# package that made one would leave it behind on removal).
set -e
if [ -f /usr/share/applications/mimeinfo.cache ] && command -v update-desktop-database >/dev/null 2>&1; then
    update-desktop-database -q /usr/share/applications || true
fi
if [ -f /usr/share/icons/hicolor/icon-theme.cache ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
    gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
fi
exit 0
SCRIPT
    chmod 755 "$stage/DEBIAN/$script"
done

mkdir -p "$out"
deb="$out/transfigure_${version}_amd64.deb"
compress="-Zxz"
if dpkg-deb --help 2>/dev/null | grep -q zstd; then compress="-Zzstd"; fi
dpkg-deb --root-owner-group "$compress" --build "$stage" "$deb" >/dev/null
echo "$deb"
