#!/usr/bin/env bash
# User install of an unpacked idlegrid folder: no root, everything under ~/.local.
#
#   ./install.sh              install (or upgrade) from the folder this script is in
#   ./install.sh --uninstall  remove what install put there (your wallet, settings and
#                             history stay in ~/.config/idlegrid and ~/.local/share/idlegrid)
#
# PREFIX overrides ~/.local.
set -euo pipefail
PREFIX=${PREFIX:-$HOME/.local}
here=$(cd "$(dirname "$0")" && pwd)
dest=$PREFIX/lib/idlegrid
bin=$PREFIX/bin
apps=$PREFIX/share/applications
icons=$PREFIX/share/icons/hicolor/scalable/apps

if [ "${1:-}" = "--uninstall" ]; then
  rm -rf "$dest" "$bin/idlegrid" "$bin/idlegrid-app" "$apps/idlegrid.desktop" "$icons/idlegrid.svg"
  echo "idlegrid: removed from $PREFIX (wallet, settings and history kept)"
  exit 0
fi
if [ ! -x "$here/idlegrid" ] || [ ! -x "$here/idlegrid-app" ]; then
  echo "install.sh: run me from the unpacked idlegrid folder (it holds idlegrid and idlegrid-app)" >&2
  exit 2
fi

mkdir -p "$PREFIX/lib" "$bin" "$apps" "$icons"
if [ "$here" != "$dest" ]; then
  rm -rf "$dest.new"
  cp -a "$here" "$dest.new"
  rm -rf "$dest"
  mv "$dest.new" "$dest"
fi
ln -sfn "$dest/idlegrid" "$bin/idlegrid"
ln -sfn "$dest/idlegrid-app" "$bin/idlegrid-app"
cp "$dest/_internal/resources/icons/idlegrid.svg" "$icons/idlegrid.svg"
sed "s|@BIN@|$bin/idlegrid-app|" "$dest/idlegrid.desktop" > "$apps/idlegrid.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
echo "idlegrid: installed in $dest"
echo "  start it from your applications menu, or run: $bin/idlegrid-app"
case ":$PATH:" in *":$bin:"*) ;; *) echo "  (add $bin to your PATH to run idlegrid from a terminal)";; esac
