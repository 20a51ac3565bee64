"""CachedStore over a real server: each blob crosses the network once, damage in the cache heals."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine.storage import BlobServer, CachedStore, HttpStore, LocalStore, open_store
from engine.storage.errors import BlobNotFound, BlobTooLarge, StorageUnavailable
from tests.integration.storage.conftest import requests_seen

DATA = b"dataset rows\n" * 4000
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def cached(client: HttpStore, tmp_path: Path) -> CachedStore:
    return CachedStore(client, LocalStore(tmp_path / "cache"))


def test_a_get_fills_the_cache_and_later_gets_need_no_server(cached: CachedStore, client: HttpStore,
                                                               server: BlobServer, tmp_path: Path) -> None:
    client.put_bytes(DATA)
    assert cached.get_bytes(SHA) == DATA
    assert (tmp_path / "cache" / SHA).read_bytes() == DATA
    server.stop()
    assert cached.get_bytes(SHA) == DATA
    assert cached.get_file(SHA, tmp_path / "out.bin").read_bytes() == DATA
    assert cached.has(SHA)


def test_the_runner_gets_a_path_in_the_cache(cached: CachedStore, client: HttpStore, tmp_path: Path,
                                             request_log) -> None:
    client.put_bytes(DATA)
    assert cached.path(SHA) == tmp_path / "cache" / SHA and cached.path(SHA).read_bytes() == DATA
    assert len(requests_seen(request_log, "GET", at_least=1)) == 1


def test_puts_go_to_the_cache_and_the_server(cached: CachedStore, server: BlobServer, tmp_path: Path) -> None:
    source = tmp_path / "ckpt.bin"
    source.write_bytes(DATA)
    assert cached.put_file(source) == SHA
    assert (server.root / SHA).read_bytes() == DATA and cached.cache.has(SHA)
    other = cached.put_bytes(b"manifest")
    assert (server.root / other).read_bytes() == b"manifest" and cached.cache.has(other)


def test_a_damaged_cache_file_is_fetched_again(cached: CachedStore, client: HttpStore, tmp_path: Path) -> None:
    client.put_bytes(DATA)
    (tmp_path / "cache").mkdir(exist_ok=True)
    (tmp_path / "cache" / SHA).write_bytes(b"disk error")
    assert cached.get_file(SHA, tmp_path / "out.bin").read_bytes() == DATA
    assert (tmp_path / "cache" / SHA).read_bytes() == DATA


def test_a_miss_reports_the_servers_errors(cached: CachedStore, client: HttpStore, server: BlobServer,
                                           tmp_path: Path) -> None:
    with pytest.raises(BlobNotFound, match=f"not found at {server.url}/blobs/{SHA}"):
        cached.get_bytes(SHA)
    client.put_bytes(DATA)
    with pytest.raises(BlobTooLarge):
        cached.get_bytes(SHA, max_size=10)
    assert not cached.cache.has(SHA)
    server.stop()
    with pytest.raises(StorageUnavailable):
        cached.get_bytes(SHA)


def test_open_store_with_a_cache_works_end_to_end(server: BlobServer, tmp_path: Path) -> None:
    store = open_store(server.url, cache=tmp_path / "c")
    sha = store.put_bytes(DATA)
    assert sha == SHA and open_store(server.url).get_bytes(SHA) == DATA
