"""Leaf hashing throughput: ``engine.commit.leaf.leaf_hash`` against raw ``hashlib.sha256``.

The input is a checkpoint-like dict of float32 numpy arrays (default about 64 MiB in a few
dozen tensors of mixed sizes: for each of 10 layers a weight, a bias and Adam's two moment
buffers, plus 0-d step counters), the shape of what ``engine.training.checkpoint`` hashes.
The raw side updates one ``hashlib.sha256`` with each tensor's bytes in turn (the same bytes,
no framing). Building the tensors is excluded from both sides.

Rounds alternate (raw, leaf) after one untimed warm-up of each; throughputs come from the
median time of each side. Headline (last line): ``hash_ratio`` = leaf throughput / raw
throughput. Goal >= 0.9.

    python -m bench.hashing [--mib N] [--rounds N] [--quick]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time

import numpy as np

from engine.commit.leaf import leaf_hash

# (out, in) of each layer: a mix of large, medium and small matrices, relative sizes
LAYERS = [(1024, 1024), (1024, 512), (512, 2048), (2048, 512), (768, 768),
          (1024, 256), (256, 1024), (512, 512), (4096, 256), (128, 10)]


def checkpoint_like(mib: float, seed: int = 0) -> dict[str, np.ndarray]:
    """float32 tensors named like a checkpoint, ~``mib`` MiB in total."""
    per_layer = sum(o * i + o for o, i in LAYERS) * 3 * 4  # param + exp_avg + exp_avg_sq
    scale = (mib * 2**20 / per_layer) ** 0.5
    rng = np.random.default_rng(seed)
    tensors: dict[str, np.ndarray] = {}
    for k, (o, i) in enumerate(LAYERS):
        o, i = max(1, round(o * scale)), max(1, round(i * scale))
        for kind, shape in (("weight", (o, i)), ("bias", (o,))):
            tensors[f"model.{k}.{kind}"] = rng.standard_normal(shape, dtype=np.float32)
            for buf in ("exp_avg", "exp_avg_sq"):
                tensors[f"optim.{k}.{kind}.{buf}"] = rng.standard_normal(shape, dtype=np.float32)
            tensors[f"optim.{k}.{kind}.step"] = np.array(1000.0, dtype=np.float32)
    tensors["meta.step"] = np.array(1000, dtype=np.int64)
    return tensors


def raw_sha256(tensors: dict[str, np.ndarray]) -> bytes:
    h = hashlib.sha256()
    for arr in tensors.values():
        h.update(arr.reshape(-1).view(np.uint8))
    return h.digest()


def timed(fn, tensors) -> float:
    t0 = time.perf_counter()
    fn(tensors)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.hashing", description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=float, default=None, help="total tensor size (default 64; 4 with --quick)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per side (default 7; 2 with --quick)")
    ap.add_argument("--quick", action="store_true", help="short run for smoke tests")
    args = ap.parse_args(argv)
    mib = args.mib if args.mib is not None else (4.0 if args.quick else 64.0)
    rounds = args.rounds if args.rounds is not None else (2 if args.quick else 7)

    tensors = checkpoint_like(mib)
    nbytes = sum(a.nbytes for a in tensors.values())
    timed(raw_sha256, tensors)  # warm-up: page in the arrays, load code
    timed(leaf_hash, tensors)
    raw, leaf = [], []
    for _ in range(rounds):
        raw.append(timed(raw_sha256, tensors))
        leaf.append(timed(leaf_hash, tensors))

    r, f = statistics.median(raw), statistics.median(leaf)
    print(f"tensors: {len(tensors)}")
    print(f"bytes: {nbytes}")
    print(f"rounds: {rounds}")
    print(f"raw_s: {r:.5f}")
    print(f"hash_s: {f:.5f}")
    print(f"raw_gbps: {nbytes / r / 1e9:.4f}")
    print(f"hash_gbps: {nbytes / f / 1e9:.4f}")
    print(f"hash_ratio: {r / f:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
