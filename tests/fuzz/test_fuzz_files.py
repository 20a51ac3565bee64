"""Files a stranger or a crash can leave behind, fuzzed: job manifests and leaves.log,
checkpoints, keystores and the settings file. Each read returns or raises the project's own
error type, and changes and leaves nothing on disk."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from engine.config import read_settings
from engine.errors import CheckpointError, ConfigError
from engine.training import checkpoint
from engine.training.jobdir import JobDir, Manifest
from engine.training.stfile import encode
from engine.wallet import keystore
from engine.wallet.errors import KeystoreFormatError
from tests.fuzz.strategies import FUZZ, dumps, json_values, mutated, text_mutated

LEAF = "ab" * 32


def untouched(root: Path, read: Callable[[], object], errors: type[Exception] | tuple[type[Exception], ...]) -> None:
    """Call ``read``; only ``errors`` may escape, and every file under ``root`` is as it was."""
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    try:
        read()
    except errors as e:
        assert str(e).strip()
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before


# -- manifest and leaves.log --------------------------------------------------------------------

MANIFEST = {"format": 1, **Manifest("cd" * 32, 40, 10, [LEAF, LEAF], None, {"loss": 0.5}).__dict__}


@FUZZ
@given(st.one_of(mutated(MANIFEST).map(dumps), text_mutated(dumps(MANIFEST))),
       st.lists(st.one_of(st.just(f"2 {LEAF}"), st.text(max_size=80)), max_size=6).map("\n".join),
       st.binary(max_size=40))
def test_manifests_and_leaf_logs_read_or_fail_with_a_checkpoint_error(tmp_path: Path, manifest: bytes, log: str,
                                                                     tail: bytes) -> None:
    (tmp_path / "manifest.json").write_bytes(manifest)
    (tmp_path / "leaves.log").write_bytes(log.encode("utf-8", "surrogatepass") + tail)
    job = JobDir(tmp_path)

    def read() -> None:
        m = job.read_manifest()
        assert m is not None and all(isinstance(leaf, str) and len(leaf) == 64 for leaf in m.leaves)

    untouched(tmp_path, read, CheckpointError)


# -- checkpoints ---------------------------------------------------------------------------------

def checkpoint_bytes() -> bytes:
    arrays = {"model.w": np.ones((2, 3), np.float32), "meta.step": np.array(4, np.int64)}
    return b"".join(bytes(b) for b in encode(arrays))


CKPT = checkpoint_bytes()
(HEADER_LEN,) = struct.unpack("<Q", CKPT[:8])
HEADER = json.loads(CKPT[8:8 + HEADER_LEN])
BODY = CKPT[8 + HEADER_LEN:]


@st.composite
def checkpoints(draw: st.DrawFn) -> bytes:
    """A real checkpoint with its header mutated (shapes, offsets, dtypes, counts) or its
    bytes edited, or its length prefix lying."""
    kind = draw(st.sampled_from(("header", "bytes", "prefix")))
    if kind == "header":
        head = dumps(draw(mutated(HEADER)))
        return struct.pack("<Q", len(head)) + head + BODY
    if kind == "bytes":
        return draw(text_mutated(CKPT))
    return struct.pack("<Q", draw(st.integers(0, 2**64 - 1))) + CKPT[8:]


@FUZZ
@given(checkpoints())
def test_checkpoints_load_or_fail_with_a_checkpoint_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "ckpt-00000.safetensors"
    path.write_bytes(raw)
    untouched(tmp_path, lambda: checkpoint.read(path), CheckpointError)


# -- keystores -----------------------------------------------------------------------------------

KEYSTORE = {
    "version": 3,
    "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    "address": "008aeeda4d805471df9b2a5b0f38a0c3bcba786b",
    "crypto": {
        "cipher": "aes-128-ctr",
        "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
        "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
        "kdf": "pbkdf2",
        "kdfparams": {
            "c": 262144,
            "dklen": 32,
            "prf": "hmac-sha256",
            "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd",
        },
        "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2",
    },
}


@FUZZ
@given(st.one_of(mutated(KEYSTORE).map(dumps), text_mutated(dumps(KEYSTORE)), json_values.map(dumps)))
def test_keystore_files_read_or_fail_with_a_keystore_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "key.json"
    path.write_bytes(raw)
    untouched(tmp_path, lambda: keystore.read(path), KeystoreFormatError)


# -- the settings file ---------------------------------------------------------------------------

SETTINGS = (b'[wallet]\naddress = "0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b"\n'
            b'[worker]\nmax_memory_mb = 2048\nmin_wei_per_hour = 0\n[network]\nblob_url = "http://127.0.0.1:8547"\n')


@FUZZ
@given(st.one_of(text_mutated(SETTINGS), st.binary(max_size=200),
                 st.integers(1, 3000).map(lambda n: b"a = " + b"[" * n + b"]" * n),
                 st.integers(1, 3000).map(lambda n: b"a = " + b"{b = " * n + b"}" * n)))
def test_settings_files_read_or_fail_with_a_config_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(raw)
    untouched(tmp_path, lambda: read_settings(path), ConfigError)
