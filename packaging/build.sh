#!/usr/bin/env bash
# Builds the one-folder app into dist/idlegrid/ and, on Linux, the tarball
# dist/idlegrid-<version>-linux-x86_64.tar.gz (the folder plus install.sh and the .desktop file).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
version=$($PY -c 'import engine; print(engine.__version__)')

$PY -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/idlegrid.spec

if [ "$(uname -s)" = Linux ]; then
  cp packaging/linux/install.sh packaging/linux/idlegrid.desktop dist/idlegrid/
  tarball=dist/idlegrid-$version-linux-$(uname -m).tar.gz
  tar -C dist -cf - idlegrid | gzip -1 > "$tarball"  # -1: 3x faster than the default, ~10 % larger
  echo "package: $tarball ($(du -h "$tarball" | cut -f1)); folder dist/idlegrid ($(du -sh dist/idlegrid | cut -f1))"
fi
