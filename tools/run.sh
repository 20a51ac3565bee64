#!/usr/bin/env bash
# `make run`: the desktop app on the local devnet (it starts the engine service, which starts the
# devnet); on a machine without a display, the engine service itself in the foreground (it says
# why). Either way real tasks flow within a minute: the devnet runs a demo requester and verifier.
set -euo pipefail
cd "$(dirname "$0")/.."
IDLEGRID=.venv/bin/idlegrid
PORT=${IDLEGRID_DEVNET_PORT:-8545}  # bench.firstjob runs a private devnet on free ports
BLOB_PORT=${IDLEGRID_BLOB_PORT:-8547}

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$IDLEGRID" app "$@"  # starts `idlegrid daemon run` when none runs; Quit leaves it working
fi

echo "make run: no display here (DISPLAY and WAYLAND_DISPLAY are unset), so the desktop app cannot open;"
echo "make run: running the engine service on the local devnet instead (the app: \`xvfb-run -a make run\` or a desktop session)"
signer=()
if ! "$IDLEGRID" wallet show >/dev/null 2>&1; then
  echo "make run: no wallet yet: signing with the devnet's public dev account 1 (\`idlegrid wallet create\` makes your own)"
  signer=(--dev-account 1)
fi
# No display means no one at this machine to yield to: train whenever there is work.
echo "make run: the service trains regardless of activity here (--ignore-idle); \`idlegrid status\` in another"
echo "make run: terminal shows what it does; Ctrl-C checkpoints the job and stops it and the devnet it started"
exec "$IDLEGRID" daemon run --devnet --devnet-port "$PORT" --devnet-blob-port "$BLOB_PORT" --ignore-idle "${signer[@]}" "$@"
