#!/usr/bin/env bash
# `make run`: the desktop app on the local devnet; on a machine without a display, the headless
# worker on the local devnet instead (it says why). Either way real tasks flow within a minute:
# the devnet runs a demo requester and a demo verifier.
set -euo pipefail
cd "$(dirname "$0")/.."
IDLEGRID=.venv/bin/idlegrid
PORT=${IDLEGRID_DEVNET_PORT:-8545}  # bench.firstjob runs a private devnet on free ports
BLOB_PORT=${IDLEGRID_BLOB_PORT:-8547}

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$IDLEGRID" app "$@"  # starts the devnet as its child when none runs
fi

echo "make run: no display here (DISPLAY and WAYLAND_DISPLAY are unset), so the desktop app cannot open;"
echo "make run: running the headless worker on the local devnet instead (the app: \`xvfb-run -a make run\` or a desktop session)"
data=$(.venv/bin/python -c 'from engine.config import paths; print(paths().data_dir)')
log=$data/logs/devnet.log
mkdir -p "$(dirname "$log")"
if ! .venv/bin/python -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0)' "$PORT"; then
  if [ -f "$data/devnet/deployment.json" ]; then
    echo "make run: using the devnet already running on 127.0.0.1:$PORT"
  else
    echo "make run: port $PORT is taken by another program; stop it, then run \`make run\` again" >&2
    exit 1
  fi
else
  setsid "$IDLEGRID" devnet --port "$PORT" --blob-port "$BLOB_PORT" > "$log" 2>&1 &  # own session: Ctrl-C stops the worker first, then the trap stops this
  devnet_pid=$!
  trap 'kill -INT $devnet_pid 2>/dev/null; wait $devnet_pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 240); do
    grep -q "devnet: ready at" "$log" 2>/dev/null && break
    kill -0 $devnet_pid 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.5
  done
  echo "make run: devnet started with a demo requester and verifier (log $log)"
fi

signer=()
if ! "$IDLEGRID" wallet show >/dev/null 2>&1; then
  echo "make run: no wallet yet: signing with the devnet's public dev account 1 (\`idlegrid wallet create\` makes your own)"
  signer=(--dev-account 1)
fi
# No display means no one at this machine to yield to: train whenever there is work.
echo "make run: the worker trains regardless of activity here (--ignore-idle); Ctrl-C checkpoints and stops"
"$IDLEGRID" worker --devnet --ignore-idle "${signer[@]}" "$@"
