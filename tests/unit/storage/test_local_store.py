"""LocalStore: the folder layout the runner reads, hash-checked reads, atomic writes, clear errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from engine.storage import LocalStore
from engine.storage.errors import (
    BlobCorrupt,
    BlobFileError,
    BlobNotFound,
    BlobTooLarge,
    InvalidBlobAddress,
    StorageRootError,
)

DATA = b"weights and biases" * 1000
SHA = hashlib.sha256(DATA).hexdigest()


def no_partials(folder: Path) -> bool:
    return not list(folder.glob(".partial-*"))


def test_put_bytes_stores_the_blob_under_its_sha256(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    assert store.put_bytes(DATA) == SHA
    assert (tmp_path / "blobs" / SHA).read_bytes() == DATA
    assert store.has(SHA) and store.get_bytes(SHA) == DATA
    assert no_partials(tmp_path / "blobs")


def test_the_layout_is_the_one_the_runner_reads_datasets_from(tmp_path: Path) -> None:
    # engine.training.datasets.LocalBlobs reads <root>/<sha256> (not imported here: it pulls in torch)
    store = LocalStore(tmp_path)
    sha = store.put_bytes(DATA)
    assert store.path_for(sha, len(DATA)) == store.path(sha) == tmp_path / sha


def test_put_file_streams_and_is_idempotent(tmp_path: Path) -> None:
    source = tmp_path / "ckpt.safetensors"
    source.write_bytes(os.urandom(3 << 20))
    store = LocalStore(tmp_path / "blobs")
    sha = store.put_file(source)
    assert sha == hashlib.sha256(source.read_bytes()).hexdigest()
    assert store.put_file(source) == sha
    assert sorted(p.name for p in (tmp_path / "blobs").iterdir()) == [sha]


def test_get_file_creates_folders_and_copies_exactly(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    store.put_bytes(DATA)
    out = store.get_file(SHA, tmp_path / "a" / "b" / "out.bin")
    assert out.read_bytes() == DATA and no_partials(out.parent)


def test_a_missing_blob_names_the_file_it_looked_for(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(BlobNotFound, match=f"blob {SHA} not found at {tmp_path / SHA}") as e:
        store.get_bytes(SHA)
    assert "idlegrid blobs put" in e.value.hint
    with pytest.raises(BlobNotFound):
        store.get_file(SHA, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not store.has(SHA)


def test_corrupt_bytes_on_disk_are_refused_and_never_copied_out(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    store.path(SHA).write_bytes(b"tampered")
    with pytest.raises(BlobCorrupt, match=f"blob {SHA} from .* is corrupt: its bytes hash to "
                       + hashlib.sha256(b"tampered").hexdigest()):
        store.get_bytes(SHA)
    with pytest.raises(BlobCorrupt):
        store.get_file(SHA, tmp_path / "out" / "x")
    assert not (tmp_path / "out" / "x").exists() and no_partials(tmp_path / "out")


def test_max_size_refuses_a_larger_blob(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes(DATA)
    with pytest.raises(BlobTooLarge, match=f"{len(DATA):,} bytes, above max_size of 100 bytes"):
        store.get_bytes(SHA, max_size=100)
    with pytest.raises(BlobTooLarge):
        store.get_file(SHA, tmp_path / "out", max_size=100)
    assert not (tmp_path / "out").exists()
    assert store.get_bytes(SHA, max_size=len(DATA)) == DATA


@pytest.mark.parametrize("bad", ["", "abc", SHA.upper(), SHA + "0", "../" + SHA[3:], "g" * 64, None, 12])
def test_a_malformed_address_is_refused_before_touching_disk(tmp_path: Path, bad: object) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(InvalidBlobAddress, match="is not a blob address") as e:
        store.get_bytes(bad)  # type: ignore[arg-type]
    assert "64 lowercase hex digits" in e.value.hint and e.value.exit_code == 2
    with pytest.raises(InvalidBlobAddress):
        store.has(bad)  # type: ignore[arg-type]


def test_a_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StorageRootError, match="is a file, not a folder"):
        LocalStore(tmp_path / "file")
    with pytest.raises(StorageRootError, match="cannot create the blob store folder"):
        LocalStore(tmp_path / "file" / "blobs")


def test_an_unreadable_source_or_a_folder_as_target_is_a_file_error(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "blobs")
    with pytest.raises(BlobFileError, match=f"cannot read {tmp_path / 'nope'}"):
        store.put_file(tmp_path / "nope")
    store.put_bytes(DATA)
    with pytest.raises(BlobFileError, match="it is a folder"):
        store.get_file(SHA, tmp_path)
    assert no_partials(tmp_path / "blobs")


def test_remove_drops_a_blob(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put_bytes(DATA)
    assert store.remove(SHA) and not store.has(SHA) and not store.remove(SHA)
