"""Smoke test of the frozen build in dist/idlegrid (run by `make package-test`).

Checks, from the frozen executables only: ``idlegrid --version``, ``task validate`` and ``train``
on the digits example (same Merkle root as the source tree gives: the build changes nothing
about determinism), the runner protocol through the frozen ``idlegrid runner``, and
``idlegrid-app`` starting offscreen on its own devnet (the bundled anvil, the blob server, the
demo verifier started through the console executable, the worker) and quitting cleanly after
15 s with no process left behind. Prints figures as ``name: value``:
the folder and tarball sizes, and start-up time of the frozen CLI against ``python -m engine``.

    python packaging/smoke_test.py [--dist dist/idlegrid]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine import __version__  # noqa: E402
from engine.chain.anvil import free_port  # noqa: E402
from engine.runner.client import RunnerProcess  # noqa: E402

SPEC = REPO / "resources" / "tasks" / "digits-mlp.json"


def run(cmd: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"FAILED ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc


def startup_s(cmd: list[str], env: dict[str, str], rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        run(cmd, env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def du_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def check_runner(cli: Path, home: Path, env: dict[str, str]) -> None:
    runner = RunnerProcess([str(cli), "runner"], env=env)
    try:
        runner.start(SPEC, home / "runner-job")
        done = runner.wait_for("done", timeout=300)
        if not str(done.get("merkle_root", "")).startswith("0x"):
            raise SystemExit(f"FAILED: the frozen runner's done event has no root: {done}")
    finally:
        runner.kill()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dist", type=Path, default=REPO / "dist" / "idlegrid")
    args = ap.parse_args(argv)
    cli, gui = args.dist / "idlegrid", args.dist / "idlegrid-app"
    for exe in (cli, gui):
        if not os.access(exe, os.X_OK):
            raise SystemExit(f"FAILED: {exe} is missing: run `make package` first")

    with tempfile.TemporaryDirectory(prefix="idlegrid-smoke-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "IDLEGRID_HOME": str(home / "home"), "QT_QPA_PLATFORM": "offscreen"}
        env.pop("PYTHONPATH", None)

        version = run([str(cli), "--version"], env).stdout.strip()
        if __version__ not in version:
            raise SystemExit(f"FAILED: --version printed {version!r}, expected {__version__}")
        run([str(cli), "task", "validate", str(SPEC)], env)

        frozen = json.loads(
            run([str(cli), "train", str(SPEC), "--out", str(home / "frozen")], env).stdout.splitlines()[-1]
        )
        source = json.loads(run([sys.executable, "-m", "engine", "train", str(SPEC), "--out", str(home / "source")],
                                {**env, "PYTHONPATH": str(REPO)}).stdout.splitlines()[-1])
        if frozen["merkle_root"] != source["merkle_root"]:
            raise SystemExit(f"FAILED: frozen root {frozen['merkle_root']} != source root {source['merkle_root']}")
        if frozen["metrics"]["accuracy"] < 0.95:
            raise SystemExit(f"FAILED: frozen accuracy {frozen['metrics']['accuracy']}")

        check_runner(cli, home, env)
        port, blob_port = free_port(), free_port()
        t0 = time.perf_counter()
        run([str(gui), "--devnet", "--dev-account", "1", "--devnet-port", str(port),
             "--devnet-blob-port", str(blob_port), "--quit-after", "15"], env, timeout=180)
        app_s = time.perf_counter() - t0
        run([str(cli), "daemon", "stop"], env)  # Quit left the engine service working; stopping it stops its devnet
        leftovers = subprocess.run(["pgrep", "-f", "--", f"--port {port}"], capture_output=True, text=True)
        if leftovers.returncode != 1:  # 1: nothing matched; 0: something did; 2+: pgrep failed
            raise SystemExit(f"FAILED: the frozen service's devnet outlived it (pgrep: {leftovers.returncode}, "
                             f"pids {leftovers.stdout.split()}, {leftovers.stderr.strip()})")

        frozen_start = startup_s([str(cli), "--version"], env)
        source_start = startup_s([sys.executable, "-m", "engine", "--version"], {**env, "PYTHONPATH": str(REPO)})

    tarballs = sorted(args.dist.parent.glob(f"idlegrid-{__version__}-*.tar.gz"))
    print(f"version: {version}")
    print(f"train_root: {frozen['merkle_root']} (same as source)")
    print(f"train_accuracy: {frozen['metrics']['accuracy']}")
    print(f"app_smoke_s: {app_s:.2f}")
    print(f"folder_mb: {du_mb(args.dist):.0f}")
    if tarballs:
        print(f"tarball_mb: {du_mb(tarballs[-1]):.0f}")
    print(f"frozen_startup_s: {frozen_start:.3f}")
    print(f"source_startup_s: {source_start:.3f}")
    print(f"startup_ratio: {frozen_start / source_start:.2f}")
    print("package-test: OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
