"""Blob transfer throughput: a checkpoint through the blob server over loopback HTTP, against a local copy.

Both sides move the same random file (default 64 MiB, the size of a mid-sized checkpoint)
into a store and back out to a new file, with every byte hashed on the way (what makes a
transfer trustworthy):

* **local** -- ``LocalStore.put_file`` then ``LocalStore.get_file``: read, hash, write, twice.
* **http** -- ``HttpStore.put_file`` then ``HttpStore.get_file`` against a ``BlobServer`` in this
  process on 127.0.0.1: the client streams the file up in one ``POST``, hashing each chunk as it
  sends it, while the server hashes and spools what arrives and names the blob (the client checks
  that name against its own hash); then it streams it down (``sendfile`` out, the client hashes
  and spools it). Per byte that is one sha256 more than the local copy (the server trusts no
  client), done on another thread at the same time.

Store folders are emptied between rounds, outside the timing. Rounds alternate (local, http)
after one untimed warm-up of each; throughputs come from the median time of each side.
Headline (last line): ``blob_ratio`` = http throughput / local throughput; goal >= 0.85
(issue 19). The HTTP side needs its two threads (client and server) on two free cores to get
there: on a machine whose cores are busy, it pays for its extra hash and copies in full (about
0.6). So the bench also prints the load average around the run, the process CPU seconds each
side used (``*_cpu_s``), which the load barely moves, and ``cpu_ratio_2core``: local CPU seconds
over the HTTP side's critical path (per phase, put then get, the CPU seconds of its busiest
thread), the ratio two free cores would give if the threads overlapped perfectly. An estimate
for a busy machine, not a measurement; ``blob_ratio`` on an idle machine is the figure.

    python -m bench.blobs [--mib N] [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from engine.storage import BlobServer, HttpStore, LocalStore


def cpu_s() -> float:
    """CPU seconds of this process so far (all threads: client and server)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def thread_cpu_s() -> dict[int, float]:
    """CPU seconds of each live thread of this process (the server's threads included)."""
    clocks = {}
    for thread in threading.enumerate():
        if thread.ident is not None:
            try:
                clocks[thread.ident] = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
            except OSError:
                continue  # it ended meanwhile
    return clocks


def busiest_thread_s(phase: Callable[[], object]) -> float:
    """Run ``phase``; the CPU seconds of the thread that used the most (a thread born during it counts from 0)."""
    before = thread_cpu_s()
    phase()
    after = thread_cpu_s()
    return max(cpu - before.get(ident, 0.0) for ident, cpu in after.items())


def round_trip(store: LocalStore | HttpStore, source: Path, out: Path) -> tuple[float, float, float]:
    """Wall and CPU seconds of one put then get, and the CPU seconds of its critical path."""
    cpu, started = cpu_s(), time.perf_counter()
    shas: list[str] = []
    critical = busiest_thread_s(lambda: shas.append(store.put_file(source)))
    critical += busiest_thread_s(lambda: store.get_file(shas[0], out))
    return time.perf_counter() - started, cpu_s() - cpu, critical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="8 MiB, 1 round: only checks that it runs")
    args = parser.parse_args()
    mib, rounds = (8, 1) if args.quick else (args.mib, args.rounds)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "ckpt.safetensors"
        with open(source, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        local_root, server_root = work / "local", work / "served"
        with BlobServer(server_root, max_size=(mib + 1) << 20) as server:
            sides: dict[str, LocalStore | HttpStore] = {"local": LocalStore(local_root), "http": HttpStore(server.url)}
            times: dict[str, list[float]] = {name: [] for name in sides}
            cpus: dict[str, list[float]] = {name: [] for name in sides}
            critical: list[float] = []
            for i in range(rounds + 1):
                for name, store in sides.items():
                    for root in (local_root, server_root):
                        shutil.rmtree(root, ignore_errors=True)
                        root.mkdir()
                    elapsed, cpu, path_cpu = round_trip(store, source, work / f"out-{name}")
                    if i:
                        times[name].append(elapsed)
                        cpus[name].append(cpu)
                        if name == "http":
                            critical.append(path_cpu)
    nbytes = mib << 20
    local, http = statistics.median(times["local"]), statistics.median(times["http"])
    print(f"bytes: {nbytes}")
    print(f"rounds: {rounds}")
    print(f"cpus: {os.cpu_count()}")
    print(f"load_1m_before: {load_before:.2f}")
    print(f"load_1m_after: {os.getloadavg()[0]:.2f}")
    local_cpu = statistics.median(cpus["local"])
    print(f"local_cpu_s: {local_cpu:.5f}")
    print(f"http_cpu_s: {statistics.median(cpus['http']):.5f}")
    print(f"http_critical_cpu_s: {statistics.median(critical):.5f}")
    print(f"cpu_ratio_2core: {local_cpu / statistics.median(critical):.4f}")
    print(f"local_s: {local:.5f}")
    print(f"http_s: {http:.5f}")
    print(f"local_gbps: {nbytes / local / 1e9:.4f}")
    print(f"http_gbps: {nbytes / http / 1e9:.4f}")
    print(f"blob_ratio: {local / http:.4f}")


if __name__ == "__main__":
    main()
