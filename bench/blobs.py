"""Blob transfer throughput: a checkpoint through the blob server over loopback HTTP, against a local copy.

Both sides move the same random file (default 64 MiB, the size of a mid-sized checkpoint)
into a store and back out to a new file, with every byte hashed on the way (what makes a
transfer trustworthy):

* **local** -- ``LocalStore.put_file`` then ``LocalStore.get_file``: read, hash, write, twice.
* **http** -- ``HttpStore.put_file`` then ``HttpStore.get_file`` against a ``BlobServer`` in this
  process on 127.0.0.1: the client hashes the file, streams it up (the server hashes and
  spools it), then streams it down (``sendfile`` out, the client hashes and spools it).

Store folders are emptied between rounds, outside the timing. Rounds alternate (local, http)
after one untimed warm-up of each; throughputs come from the median time of each side.
Headline (last line): ``blob_ratio`` = http throughput / local throughput. Goal >= 0.5: the
HTTP path costs one extra read and hash of the file, and nothing else of note.

    python -m bench.blobs [--mib N] [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from engine.storage import BlobServer, HttpStore, LocalStore


def round_trip(store: LocalStore | HttpStore, source: Path, out: Path) -> float:
    started = time.perf_counter()
    sha = store.put_file(source)
    store.get_file(sha, out)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="8 MiB, 1 round: only checks that it runs")
    args = parser.parse_args()
    mib, rounds = (8, 1) if args.quick else (args.mib, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "ckpt.safetensors"
        with open(source, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(1 << 20))
        local_root, server_root = work / "local", work / "served"
        with BlobServer(server_root, max_size=(mib + 1) << 20) as server:
            sides = {"local": LocalStore(local_root), "http": HttpStore(server.url)}
            times: dict[str, list[float]] = {name: [] for name in sides}
            for i in range(rounds + 1):
                for name, store in sides.items():
                    for root in (local_root, server_root):
                        shutil.rmtree(root, ignore_errors=True)
                        root.mkdir()
                    elapsed = round_trip(store, source, work / f"out-{name}")
                    if i:
                        times[name].append(elapsed)
    nbytes = mib << 20
    local, http = statistics.median(times["local"]), statistics.median(times["http"])
    print(f"bytes: {nbytes}")
    print(f"rounds: {rounds}")
    print(f"local_s: {local:.5f}")
    print(f"http_s: {http:.5f}")
    print(f"local_gbps: {nbytes / local / 1e9:.4f}")
    print(f"http_gbps: {nbytes / http / 1e9:.4f}")
    print(f"blob_ratio: {local / http:.4f}")


if __name__ == "__main__":
    main()
