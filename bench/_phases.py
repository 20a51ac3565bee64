"""Where a task's protocol time goes: the per-phase breakdown ``bench.protocol`` prints.

The worker is observed only through what it is handed, never patched: its blob store is a
:class:`TimedStore` (every call timed), its chain connection's provider is wrapped so every
JSON-RPC request is timed by method, and its listener records the job events (claiming,
claimed, training, uploaded, committed) with their times. The runner's own progress is read
from the job folder afterwards: the first checkpoint file's mtime (the runner has built the
model and loaded the data) and ``manifest.json``'s (the last checkpoint is written).

All times are wall-clock seconds (``time.time()``), the clock of events and file mtimes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.events import EngineEvent, Kind

# The phases, in the order a task meets them; (name, what it covers).
PHASES = (
    ("discover", "task posted -> worker decides to claim (log filter wake-up, spec fetch and checks)"),
    ("spec_fetch", "  of which: spec blob GET and dataset HEAD"),
    ("claim_tx", "claimTask sent -> mined and booked"),
    ("to_training", "claim booked -> job handed to training (one worker loop turn)"),
    ("dataset_fetch", "dataset blob download (0 for built-in datasets)"),
    ("runner_take", "handed to training -> a runner took the job (warm runner, start command)"),
    ("runner_handoff", "runner took the job -> it wrote checkpoint 0, minus the in-process set-up"),
    ("training", "checkpoint 0 -> last checkpoint written (runner)"),
    ("after_training", "last checkpoint -> first upload after it (result read, loop turns, upload queue)"),
    ("uploads", "first upload after the last checkpoint -> manifest uploaded"),
    ("commit_tx", "manifest uploaded -> submitResult mined and booked"),
    ("receipt_lag", "watcher saw SUBMITTED on chain -> worker booked the commit (receipt poll)"),
)


@dataclass
class Timeline:
    """Spans (name, start, end, detail) and job events, appended from any thread."""

    spans: list[tuple[str, float, float, str]] = field(default_factory=list)
    events: list[tuple[float, int | None, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def span(self, name: str, start: float, detail: str = "") -> None:
        with self._lock:
            self.spans.append((name, start, time.time(), detail))

    def listener(self, event: EngineEvent) -> None:
        if event.kind is Kind.JOB or (event.kind is Kind.STATE and event.data.get("state") == "working"):
            with self._lock:
                self.events.append((event.at, event.task_id, str(event.data.get("state"))))

    def event_at(self, task_id: int, state: str, wait_s: float = 30.0) -> float:
        """When the worker first reported ``task_id`` in ``state``; waits for it (the chain may
        show a transaction before the worker has fetched its receipt)."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._lock:
                times = [at for at, tid, s in self.events if tid == task_id and s == state]
            if times:
                return times[0]
            if time.monotonic() > deadline:
                raise SystemExit(f"the worker never reported task {task_id} as {state!r} (it reported {self.events})")
            time.sleep(0.01)

    def spans_between(self, start: float, end: float, *names: str) -> list[tuple[str, float, float, str]]:
        with self._lock:
            return [s for s in self.spans if s[0] in names and start <= s[1] <= end]


class TimedStore:
    """A blob store whose five operations are timed into a :class:`Timeline`; the rest passes through."""

    def __init__(self, store: Any, timeline: Timeline) -> None:
        self._store, self._timeline = store, timeline

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _timed(self, name: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return call(*args, **kwargs)
        finally:
            self._timeline.span("store." + name, start)

    def has(self, sha256: str) -> bool:
        return bool(self._timed("has", self._store.has, sha256))

    def put_bytes(self, data: bytes) -> str:
        return str(self._timed("put_bytes", self._store.put_bytes, data))

    def put_file(self, path: Path) -> str:
        return str(self._timed("put_file", self._store.put_file, path))

    def get_bytes(self, sha256: str, **kwargs: Any) -> bytes:
        return bytes(self._timed("get_bytes", self._store.get_bytes, sha256, **kwargs))

    def get_file(self, sha256: str, dest: Path, **kwargs: Any) -> Path:
        return Path(self._timed("get_file", self._store.get_file, sha256, dest, **kwargs))


def time_rpc(w3: Any, timeline: Timeline) -> None:
    """Time every JSON-RPC request ``w3`` makes, as a span named ``rpc`` with the method as detail."""
    provider = w3.provider
    make_request = provider.make_request

    def timed(method: Any, params: Any) -> Any:
        start = time.time()
        try:
            return make_request(method, params)
        finally:
            timeline.span("rpc", start, str(method))

    provider.make_request = timed
    provider._request_func_cache = (None, None)  # web3 bound the old make_request into its middleware chain


def breakdown(timeline: Timeline, task_id: int, *, posted: float, seen_submitted: float, job_dir: Path,
              inproc_setup: float) -> tuple[dict[str, float], dict[str, float]]:
    """The phases of one task (seconds), and counts: uploads, store requests, RPC calls by kind."""
    claiming = timeline.event_at(task_id, "claiming")
    claimed = timeline.event_at(task_id, "claimed")
    training = timeline.event_at(task_id, "training")
    working = timeline.event_at(task_id, "working")
    committed = timeline.event_at(task_id, "committed")
    first_ckpt = (job_dir / "ckpt-00000.safetensors").stat().st_mtime
    last_ckpt = (job_dir / "manifest.json").stat().st_mtime
    puts = timeline.spans_between(last_ckpt, committed, "store.put_file", "store.put_bytes")
    all_puts = timeline.spans_between(first_ckpt, committed, "store.put_file", "store.put_bytes")
    if not puts:
        raise SystemExit(f"no upload of task {task_id} was seen")
    uploads_start, uploads_end = puts[0][1], puts[-1][2]
    fetched = timeline.spans_between(posted, claiming, "store.get_bytes", "store.has")
    dataset = timeline.spans_between(training, first_ckpt, "store.get_file")
    rpcs = timeline.spans_between(claimed, committed, "rpc")
    phases = {
        "discover": claiming - posted,
        "spec_fetch": sum(end - start for _, start, end, _ in fetched),
        "claim_tx": claimed - claiming,
        "to_training": training - claimed,
        "dataset_fetch": sum(end - start for _, start, end, _ in dataset),
        "runner_take": working - training,
        "runner_handoff": first_ckpt - working - inproc_setup,
        "training": last_ckpt - first_ckpt,
        "after_training": uploads_start - last_ckpt,
        "uploads": uploads_end - uploads_start,
        "commit_tx": committed - uploads_end,
        "receipt_lag": committed - seen_submitted,
    }
    counts = {
        "uploaded_blobs": float(len(all_puts)),
        "uploads_after_training": float(len(puts)),
        "rpc_calls": float(len(rpcs)),
        "rpc_s": sum(end - start for _, start, end, _ in rpcs),
        "rpc_calls_while_training": float(sum(1 for _, start, _, _ in rpcs if first_ckpt <= start <= last_ckpt)),
    }
    return phases, counts


def settle_children(quiet_cpu_s: float = 0.02, window_s: float = 0.5, timeout_s: float = 120.0) -> None:
    """Wait until this process's descendants (the worker's spare runner importing torch, anvil)
    use under ``quiet_cpu_s`` of CPU per ``window_s``, so a timing that follows is not slowed by
    work the worker left running in the background."""
    import psutil

    def used() -> float:
        total = 0.0
        for child in psutil.Process().children(recursive=True):
            try:
                times = child.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        return total

    deadline = time.monotonic() + timeout_s
    before = used()
    while time.monotonic() < deadline:
        time.sleep(window_s)
        now = used()
        if now - before < quiet_cpu_s:
            return
        before = now
