"""The lying blob server the fault tests use really lies, and the real client really notices."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.storage.errors import BlobCorrupt
from engine.storage.http import HttpStore
from engine.storage.server import BlobServer
from tests.e2e.flaky_blobs import FlakyBlobProxy

DATA = b"checkpoint bytes " * 1000


@pytest.fixture
def proxy(tmp_path: Path):
    with BlobServer(tmp_path / "blobs") as server, FlakyBlobProxy(server.url) as proxy:
        yield proxy


def test_a_corrupted_answer_is_rejected_by_its_hash_and_retried(proxy: FlakyBlobProxy) -> None:
    store = HttpStore(proxy.url, retries=3, backoff=0.01)
    sha = store.put_bytes(DATA)
    proxy.corrupt_next(sha, times=2)

    assert store.get_bytes(sha) == DATA
    assert proxy.corrupted[sha] == 2 and proxy.gets[sha] == 3


def test_a_server_that_always_lies_ends_in_blob_corrupt(proxy: FlakyBlobProxy) -> None:
    store = HttpStore(proxy.url, retries=2, backoff=0.01)
    sha = store.put_bytes(DATA)
    proxy.corrupt_always(sha)

    with pytest.raises(BlobCorrupt):
        store.get_bytes(sha)
    assert proxy.gets[sha] == proxy.corrupted[sha] >= 2


def test_uploads_and_heads_pass_through_unchanged(proxy: FlakyBlobProxy, tmp_path: Path) -> None:
    store = HttpStore(proxy.url)
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    sha = store.put_file(path)
    assert store.has(sha) and not store.has("0" * 64)
    assert store.get_file(sha, tmp_path / "back.bin").read_bytes() == DATA
