"""Every hostile input of ``bench.hostile_cases`` against the real CLI and blob server.

Each CLI case runs ``python -m engine ...`` in a fresh folder with its own ``IDLEGRID_HOME``.
A case fails on a crash (killed by a signal, or an exit code other than 0-3), a traceback
anywhere in its output, a hang, or a changed, removed or new file
among those it was given. A hang is measured in the child's own CPU time, so a machine
shared with other work does not turn slow imports into hangs: more than 5 s of CPU past the
baseline (the most CPU an ordinary command uses, timed in the same run: `task validate` of a
good spec, `wallet show`, and `train` of a 4-step spec), or no answer within a wall-clock cap
(60 s plus three times the baseline's wall time) for a child that blocks without computing.
A socket case fails unless the server answers (within 15 s) with a status line
and plain text (no HTML, no traceback), stays up, and stores nothing.

``python -m bench.hostile [--jobs N]`` prints one line per failure and then the figures:
``hostile_cases``, ``baseline_cpu_s``, ``slowest_case_cpu_s`` (socket cases count their wall
time) and, last, ``hostile_failures``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.hostile_cases import REPO, SOCKET_CASES, TINY, CliCase, cli_cases

HANG_S = 5.0  # CPU seconds past the baseline
SOCKET_WAIT_S = 15.0  # the blob server answers in milliseconds; 15 s of silence on a loaded machine is a hang
OK_CODES = (0, 1, 2, 3)


@dataclass(frozen=True)
class Run:
    code: int | None  # None: killed at the wall-clock cap
    output: str       # stdout then stderr
    wall_s: float
    cpu_s: float      # the child's own user + system time


def run_cli(args: list[str], home: Path, cap_s: float) -> Run:
    env = {**os.environ, "IDLEGRID_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("IDLEGRID_DEBUG", None)
    started = time.monotonic()
    p = subprocess.Popen([sys.executable, "-m", "engine", *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda n=n, f=f: chunks.__setitem__(n, f.read()))
               for n, f in (("out", p.stdout), ("err", p.stderr))]
    for r in readers:
        r.start()
    code: int | None = None
    while True:  # os.wait4 rather than Popen.wait: it also returns the child's CPU time
        pid, status, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            code = os.waitstatus_to_exitcode(status)
            p.returncode = code
            break
        if time.monotonic() - started > cap_s:
            p.kill()
            _, status, usage = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            break
        time.sleep(0.05)
    for r in readers:
        r.join()
    output = (chunks.get("out", b"") + chunks.get("err", b"")).decode("utf-8", "replace")
    return Run(code, output, time.monotonic() - started, usage.ru_utime + usage.ru_stime)


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` by relative path: its sha256 (folders as "dir")."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def prepare(case: CliCase, folder: Path, template_job: Path) -> None:
    folder.mkdir(parents=True)
    if case.job:
        shutil.copytree(template_job, folder / "job")
    for rel, raw in case.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if raw is None:
            path.mkdir(exist_ok=True)
        else:
            path.write_bytes(raw)


def judge_cli(case: CliCase, root: Path, template_job: Path, base: Run) -> tuple[str | None, float]:
    folder = root / case.name.replace("/", "__")
    prepare(case, folder, template_job)
    before = snapshot(folder)
    args = [a.replace("{d}", str(folder)) for a in case.args]
    cap = 60 + 3 * base.wall_s
    run = run_cli(args, folder / "home", cap)
    code, out, took = run.code, run.output, run.cpu_s
    after = {k: v for k, v in snapshot(folder).items() if v != "dir"}  # new empty folders are harmless
    if code is None:
        return f"hang: no answer in {cap:.0f} s of wall-clock time", took
    if run.cpu_s > base.cpu_s + HANG_S:
        return f"hang: {run.cpu_s:.1f} s of CPU, over the baseline's {base.cpu_s:.1f} s + {HANG_S:.0f} s", took
    if code < 0 or code not in OK_CODES:
        return f"crash: exit {code}: {out.strip()[-300:]!r}", took
    if "Traceback" in out:
        return f"traceback: {out.strip()[-300:]!r}", took
    changed = sorted(k for k, v in before.items() if v != "dir" and after.get(k) != v)
    new = sorted(set(after) - set(before))
    if changed or new:
        return f"files changed {changed} or left behind {new}", took
    return None, took


# -- the blob server -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=SOCKET_WAIT_S) as c:
        try:
            c.sendall(request)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # answered and closed before reading it all
        out = b""
        while True:
            try:
                chunk = c.recv(65536)
            except (ConnectionResetError, TimeoutError):
                return out
            if not chunk:
                return out
            out += chunk


def judge_answer(answer: bytes) -> str | None:
    if not answer.startswith((b"HTTP/1.1 ", b"HTTP/1.0 ")):
        return f"no status line: {answer[:100]!r}"
    head, _, body = answer.partition(b"\r\n\r\n")
    if b"text/plain" not in head or b"<html" in body.lower() or b"Traceback" in body:
        return f"not plain text: {answer[:200]!r}"
    return None


def socket_cases(root: Path) -> list[tuple[str, str | None, float]]:
    blobs = root / "server-blobs"
    blobs.mkdir()
    port = free_port()
    env = {**os.environ, "IDLEGRID_HOME": str(root / "server-home"), "PYTHONPATH": str(REPO)}
    server = subprocess.Popen([sys.executable, "-m", "engine", "blobs", "serve", "--root", str(blobs), "--port",
                               str(port)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    results: list[tuple[str, str | None, float]] = []
    try:
        wait_healthy(port, server)
        for name, request in SOCKET_CASES.items():
            started = time.monotonic()
            try:
                problem = judge_answer(exchange(port, request))
            except OSError as e:
                problem = f"connection failed: {e}"
            if problem is None and server.poll() is not None:
                problem = f"the server exited ({server.returncode})"
            leftovers = [p.name for p in blobs.iterdir()]
            if problem is None and leftovers:
                problem = f"left files in the blob folder: {leftovers}"
            results.append((f"blob-server/{name}", problem, time.monotonic() - started))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            out, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
    if b"Traceback" in out:
        results.append(("blob-server/shutdown", f"traceback in the server's output: {out[-300:]!r}", 0.0))
    return results


def wait_healthy(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the blob server exited at start ({server.returncode})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the blob server did not start in 60 s")


# -- main ------------------------------------------------------------------------------------------

def baseline(root: Path) -> list[Run]:
    """Ordinary commands here: what "too slow" is measured against."""
    spec = root / "baseline-spec.json"
    spec.write_text((REPO / "resources" / "tasks" / "digits-mlp.json").read_text())
    runs = []
    for args in (["task", "validate", str(spec)], ["wallet", "show"]):
        run = run_cli(args, root / "baseline-home", 600)
        if run.code not in OK_CODES or "Traceback" in run.output:
            raise SystemExit(f"baseline command {args} failed: {run.output[-500:]}")
        runs.append(run)
    return runs


def train_template(root: Path) -> tuple[Path, Run]:
    """The job replay cases start from, and its training run (part of the baseline)."""
    spec = root / "template-spec.json"
    spec.write_text(json.dumps(TINY))
    job = root / "template-job"
    run = run_cli(["train", str(spec), "--out", str(job), "-q", "--device", "cpu"], root / "template-home", 600)
    if run.code != 0:
        raise SystemExit(f"could not train the template job: {run.output[-500:]}")
    return job, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="idlegrid-hostile-") as tmp:
        root = Path(tmp)
        template, trained = train_template(root)
        runs = [*baseline(root), trained]
        base = Run(0, "", max(r.wall_s for r in runs), max(r.cpu_s for r in runs))
        cases = cli_cases()
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            judged = list(pool.map(lambda c: (c.name, *judge_cli(c, root / "cases", template, base)), cases))
        judged += socket_cases(root)
    failures = [(name, problem) for name, problem, _ in judged if problem]
    for name, problem in failures:
        print(f"# FAIL {name}: {problem}", file=sys.stderr)
    print(f"hostile_cases: {len(judged)}")
    print(f"baseline_cpu_s: {base.cpu_s:.2f}")
    print(f"slowest_case_cpu_s: {max(t for _, _, t in judged):.2f}")
    print(f"hostile_failures: {len(failures)}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
