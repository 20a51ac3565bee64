#!/usr/bin/env bash
# Debian packages the test suite needs: a Secret Service for the keyring tests; a virtual
# display (xvfb), a tray host (trayer) and the libraries of Qt's xcb platform plugin for the
# desktop-app tests and screenshots. Installs only what is missing (idempotent); never fails
# the build on a machine where it cannot install (the tests that need them then say so).
set -uo pipefail
PKGS=(
  dbus gnome-keyring
  xvfb xauth trayer
  libxcb-cursor0 libxkbcommon-x11-0 libxkbcommon0 libegl1 libgl1 libfontconfig1 libdbus-1-3
  libxcb1 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0
  libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxcb-xinerama0
  libxcb-xkb1 libx11-xcb1
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "system-deps: missing ${missing[*]} (install them with your package manager)" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
