#!/usr/bin/env bash
# Runs a command under a private, unlocked Secret Service (D-Bus session bus +
# gnome-keyring-daemon), for trying the wallet's keyring storage on a headless machine:
#   tools/with-secret-service.sh .venv/bin/python -m engine wallet create
# The keyring lives in a temporary folder and is gone when the command ends.
# Needs the Debian packages dbus and gnome-keyring (tools/system-deps.sh installs them).
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi
for tool in dbus-run-session gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || {
    echo "with-secret-service: $tool not found; install the Debian packages dbus gnome-keyring" >&2
    exit 127
  }
done
if [ -z "${IDLEGRID_SECRET_SERVICE_INNER:-}" ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  mkdir -m 700 "$scratch/run"
  status=0
  IDLEGRID_SECRET_SERVICE_INNER=1 XDG_RUNTIME_DIR="$scratch/run" XDG_DATA_HOME="$scratch/data" \
    dbus-run-session -- "$0" "$@" 2> >(grep -v 'Failed to set fd limit' >&2) || status=$?
  exit $status
fi
unset IDLEGRID_SECRET_SERVICE_INNER
# --unlock creates and unlocks the "login" collection with this throw-away password.
eval "$(printf '%s' "idlegrid-test" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
exec "$@"
