#!/usr/bin/env bash
# Debian packages the test suite needs (a Secret Service for the keyring tests, a virtual
# display for the tray test). Installs only what is missing; never fails the build on a
# machine where it cannot install (the tests that need them then say so).
set -uo pipefail
PKGS=(dbus gnome-keyring)
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
