"""HttpStore against a real server: round trips, streaming, retries, and each failure as its own error."""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
import tracemalloc
from pathlib import Path

import pytest

from engine.chain.anvil import free_port
from engine.storage import BlobServer, HttpStore
from engine.storage.errors import (
    BlobCorrupt,
    BlobFileError,
    BlobNotFound,
    BlobTooLarge,
    InvalidBlobAddress,
    StorageUnavailable,
)
from engine.storage.http import _send_file
from tests.integration.storage.conftest import requests_seen
from tests.integration.storage.flaky import FlakyServer

DATA = b"a checkpoint" * 5000
SHA = hashlib.sha256(DATA).hexdigest()


def no_partials(folder: Path) -> bool:
    return not list(folder.glob(".partial-*"))


def test_put_then_get_round_trips_bytes_and_files(client: HttpStore, server: BlobServer, tmp_path: Path) -> None:
    assert not client.has(SHA)
    assert client.put_bytes(DATA) == SHA
    assert client.has(SHA) and (server.root / SHA).read_bytes() == DATA
    assert client.get_bytes(SHA) == DATA
    out = client.get_file(SHA, tmp_path / "dl" / "ckpt.bin")
    assert out.read_bytes() == DATA and no_partials(out.parent)


def test_an_upload_is_one_post_hashed_on_the_way(client: HttpStore, server: BlobServer, tmp_path: Path,
                                                 request_log) -> None:
    source = tmp_path / "spec.json"
    source.write_bytes(DATA)
    assert client.put_file(source) == SHA
    assert client.put_file(source) == SHA  # sent again: the client names the blob only once it is sent
    assert client.put_bytes(DATA) == SHA
    assert len(requests_seen(request_log, "POST", at_least=3)) == 3
    # the only HEAD asked the server's upload limit, once; no HEAD per upload
    assert [line for line in requests_seen(request_log, "HEAD") if "/health" not in line] == []
    assert requests_seen(request_log, "PUT") == []
    assert os.listdir(server.root) == [SHA]


def test_large_blobs_are_streamed_not_held_in_memory(client: HttpStore, server: BlobServer, tmp_path: Path) -> None:
    size = (32 << 20) + 12345  # not a whole number of 1 MiB chunks: the last one is short
    source = tmp_path / "big.safetensors"
    with open(source, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
        f.write(os.urandom(size % (1 << 20)))
    tracemalloc.start()
    try:
        sha = client.put_file(source)
        out = client.get_file(sha, tmp_path / "copy.safetensors")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"peak {peak:,} bytes for a {size:,}-byte blob, client and server together"
    original = source.read_bytes()
    assert (server.root / sha).read_bytes() == original and out.read_bytes() == original
    assert sha == hashlib.sha256(original).hexdigest()


def test_a_missing_blob_is_not_found_at_its_url_without_retrying(client: HttpStore, server: BlobServer,
                                                                 tmp_path: Path, request_log) -> None:
    with pytest.raises(BlobNotFound, match=f"blob {SHA} not found at {server.url}/blobs/{SHA}"):
        client.get_bytes(SHA)
    with pytest.raises(BlobNotFound):
        client.get_file(SHA, tmp_path / "out")
    assert not (tmp_path / "out").exists() and no_partials(tmp_path)
    assert len(requests_seen(request_log, "GET", at_least=2)) == 2


def test_corrupt_bytes_on_the_server_are_retried_then_refused(client: HttpStore, server: BlobServer,
                                                              tmp_path: Path, request_log) -> None:
    (server.root / SHA).write_bytes(b"bit rot")  # the server serves whatever its folder holds
    with pytest.raises(BlobCorrupt) as e:
        client.get_file(SHA, tmp_path / "out")
    assert e.value.attempts == 3 and len(requests_seen(request_log, "GET", at_least=3)) == 3
    assert f"its bytes hash to {hashlib.sha256(b'bit rot').hexdigest()} (after 3 attempts)" in str(e.value)
    assert "remove it from the store's folder, then upload the original again" in e.value.hint
    assert not (tmp_path / "out").exists() and no_partials(tmp_path)
    with pytest.raises(BlobCorrupt):
        client.get_bytes(SHA)


def test_uploading_again_repairs_a_corrupt_blob(client: HttpStore, server: BlobServer) -> None:
    (server.root / SHA).write_bytes(b"bit rot")
    with pytest.raises(BlobCorrupt):
        client.get_bytes(SHA)
    conn = http.client.HTTPConnection("127.0.0.1", server.port)
    conn.request("PUT", f"/blobs/{SHA}", body=DATA)
    assert conn.getresponse().status == 200  # "already there", and replaced by the checked upload
    assert client.get_bytes(SHA) == DATA


def test_putting_over_a_truncated_copy_replaces_it(client: HttpStore, server: BlobServer) -> None:
    (server.root / SHA).write_bytes(DATA[:100])
    assert client.put_bytes(DATA) == SHA
    assert client.get_bytes(SHA) == DATA


def test_a_file_that_shrinks_while_uploading_is_a_clear_error(client: HttpStore, server: BlobServer,
                                                                tmp_path: Path) -> None:
    source = tmp_path / "ckpt.bin"
    source.write_bytes(DATA)
    real_size = len(DATA)
    source.write_bytes(DATA[:1000])  # what the upload finds after put_file took the file's size
    with pytest.raises(BlobFileError, match="changed while it was being uploaded"):
        client._upload(real_size, _send_file(source, real_size), lambda: SHA)
    deadline = time.monotonic() + 5  # the server drops the short upload once it sees the connection close
    while os.listdir(server.root) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.listdir(server.root) == []


def test_an_upload_the_server_stored_under_another_address_is_retried_then_unavailable(tmp_path: Path) -> None:
    source = tmp_path / "ckpt.bin"
    source.write_bytes(DATA)
    with FlakyServer(DATA, []) as flaky:  # answers every upload with the address of other bytes
        client = HttpStore(flaky.url, retries=2, backoff=0.01)
        with pytest.raises(StorageUnavailable, match=f"after 3 attempts .*not as what was sent \\({SHA}\\)"):
            client.put_file(source)
        assert flaky.requests == 3
        with pytest.raises(StorageUnavailable, match="bytes changed on the way"):
            client.put_bytes(DATA)


def test_a_server_that_is_down_is_unavailable_with_the_fix() -> None:
    client = HttpStore(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01)
    with pytest.raises(StorageUnavailable, match=r"unavailable after 3 attempts \(connection refused\)") as e:
        client.get_bytes(SHA)
    assert "idlegrid blobs serve" in e.value.hint and "idlegrid devnet" in e.value.hint
    with pytest.raises(StorageUnavailable):
        client.put_bytes(DATA)


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts connections; nobody ever answers
        client = HttpStore(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3, retries=1, backoff=0.01)
        with pytest.raises(StorageUnavailable, match=r"after 2 attempts \(no answer within 0.3s\)"):
            client.has(SHA)


def test_5xx_truncated_bodies_and_resets_are_retried_until_the_blob_arrives(tmp_path: Path) -> None:
    with FlakyServer(DATA, ["503", "truncate", "reset", "wrong"]) as flaky:
        client = HttpStore(flaky.url, retries=4, backoff=0.01)
        assert client.get_file(SHA, tmp_path / "out").read_bytes() == DATA
        assert flaky.requests == 5
    assert no_partials(tmp_path)


@pytest.mark.parametrize("script, cause", [
    (["503"] * 3, "HTTP 503 Service Unavailable: overloaded, come back later"),
    (["truncate"] * 3, f"the connection closed after {len(DATA) // 2:,} of {len(DATA):,} bytes"),
])
def test_retries_give_up_naming_the_last_cause(script: list[str], cause: str) -> None:
    with FlakyServer(DATA, script) as flaky:
        with pytest.raises(StorageUnavailable, match="after 3 attempts") as e:
            HttpStore(flaky.url, retries=2, backoff=0.01).get_bytes(SHA)
        assert e.value.cause == cause and flaky.requests == 3


def test_max_size_refuses_a_large_download_before_reading_it(client: HttpStore, tmp_path: Path, request_log) -> None:
    client.put_bytes(DATA)
    with pytest.raises(BlobTooLarge, match=f"{len(DATA):,} bytes, above max_size of 1,000 bytes"):
        client.get_file(SHA, tmp_path / "out", max_size=1000)
    assert not (tmp_path / "out").exists()
    assert len(requests_seen(request_log, "GET", at_least=1)) == 1
    assert client.get_bytes(SHA, max_size=len(DATA)) == DATA


def test_an_upload_over_the_servers_limit_is_refused_before_sending(tmp_path: Path, request_log) -> None:
    with BlobServer(tmp_path / "root", max_size=1000) as small:
        client = HttpStore(small.url, retries=0)
        with pytest.raises(BlobTooLarge, match=f"{len(DATA):,} bytes, above the server's limit of 1,000 bytes"):
            client.put_bytes(DATA)
        requests_seen(request_log, "HEAD", at_least=1)
        assert requests_seen(request_log, "POST") == [] and not (small.root / SHA).exists()
        assert client.put_bytes(b"small") == hashlib.sha256(b"small").hexdigest()


def test_a_malformed_address_never_reaches_the_network() -> None:
    client = HttpStore(f"http://127.0.0.1:{free_port()}", retries=0)
    with pytest.raises(InvalidBlobAddress):
        client.get_bytes("not-a-hash")


def test_health_reports_the_service_and_limit(client: HttpStore, server: BlobServer) -> None:
    assert client.health() == {"service": "idlegrid-blobs", "status": "ok", "max_size": server.max_size}
