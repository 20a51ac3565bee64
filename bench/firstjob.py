"""Time to first earning: `make run` on a fresh clone, from its start until the first task trains.

A newcomer's path: ``git clone`` then ``make run``. The bench clones this repository's HEAD
(commit first: the working tree's changes are not in a clone) into a temp folder and runs
``make run`` there without a display, so ``tools/run.sh`` starts the local devnet (its demo
requester posts a task at once) and the headless worker. It runs with a temp
``IDLEGRID_HOME`` and a private devnet on free ports, so nothing of yours is touched, and
reads the output line by line, stamping each phase as it shows:

* ``python_env`` -- ``tools/setup.sh``: the venv and the locked packages (uv, from its cache);
* ``node_modules`` -- ``npm ci``: anvil, from npm's cache;
* ``devnet`` -- anvil, the contract deployment, the blob server and the demo actors;
* ``worker_start`` -- the worker process up to claiming the first task;
* ``to_training`` -- claim to the first progress line of the first task (step > 0).

Package caches must be warm (the goal is about set-up, not download speed): unless
``--no-warm-up`` the bench first runs ``make setup`` in a throwaway clone, untimed. Headline
(last line): ``first_job_s``, clone start to first training step. Goal <= 60.

    python -m bench.firstjob [--no-warm-up] [--timeout S]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from engine.chain.anvil import free_port

REPO = Path(__file__).resolve().parents[1]
# (phase, the output line that ends it), in order
MARKS = (
    ("python_env", re.compile(r"^setup: .*python environment ready")),
    ("node_modules", re.compile(r"^make run: ")),
    ("devnet", re.compile(r"^make run: the service trains")),
    ("worker_start", re.compile(r"^job task \d+: claiming task \d+")),
    ("to_training", re.compile(r"^progress task \d+: task \d+: step [1-9]\d*/")),
)


def clone(into: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(into)], check=True)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    subprocess.run(["git", "-C", str(into), "checkout", "--quiet", head], check=True)


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(IDLEGRID_HOME=str(home), IDLEGRID_DEVNET_PORT=str(free_port()), IDLEGRID_BLOB_PORT=str(free_port()))
    return env


def stop(proc: subprocess.Popen[str], folder: Path) -> None:
    """Ctrl-C the run (the worker checkpoints, run.sh stops the devnet), then end what is left of it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for p in psutil.process_iter(["cmdline", "cwd"]):  # the devnet runs in its own session
        try:
            if str(folder) in " ".join(p.info["cmdline"] or []) or str(folder) in (p.info["cwd"] or ""):
                p.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue


def timed_run(folder: Path, timeout: float) -> dict[str, float]:
    """Clone and ``make run``; when each phase ended, in seconds from the start."""
    started = time.monotonic()
    clone(folder / "idlegrid")
    ended = {"clone": time.monotonic() - started}
    proc = subprocess.Popen(["make", "run"], cwd=folder / "idlegrid", env=environment(folder / "home"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGINT))
    timer.start()
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            for name, mark in MARKS:
                if name not in ended and mark.search(line.strip()):
                    ended[name] = time.monotonic() - started
            if "to_training" in ended:
                break
    finally:
        timer.cancel()
        stop(proc, folder)
    if "to_training" not in ended:
        tail = "\n".join(lines[-30:])
        raise SystemExit(f"`make run` did not reach the first task's training within {timeout:.0f} s:\n{tail}")
    return ended


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.firstjob", description=__doc__.split("\n")[0])
    ap.add_argument("--no-warm-up", action="store_true", help="skip the untimed `make setup` that warms the caches")
    ap.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds (default 600)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="idlegrid-firstjob-") as tmp:
        work = Path(tmp)
        if not args.no_warm_up:
            clone(work / "warm-up")
            warm = subprocess.run(["make", "setup"], cwd=work / "warm-up", env=environment(work / "warm-home"),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
            if warm.returncode:
                raise SystemExit(f"`make setup` failed in a fresh clone:\n{warm.stdout[-3000:]}")
            shutil.rmtree(work / "warm-up")
        (work / "run").mkdir()
        ended = timed_run(work / "run", args.timeout)
    previous = 0.0
    for name in ("clone", *(name for name, _ in MARKS)):
        if name in ended:
            print(f"phase_{name}_s: {ended[name] - previous:.2f}")
            previous = ended[name]
    print(f"first_job_s: {ended['to_training']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
