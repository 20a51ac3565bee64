"""open_store picks the store a location names; bad locations and sizes are clear errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from engine.commands.blobs import parse_size
from engine.storage import CachedStore, HttpStore, LocalStore, open_store
from engine.storage.errors import StorageLocationError


def test_an_http_url_opens_an_http_store() -> None:
    store = open_store("http://127.0.0.1:8547/")
    assert isinstance(store, HttpStore) and store.base_url == "http://127.0.0.1:8547"
    assert store.url("0" * 64) == "http://127.0.0.1:8547/blobs/" + "0" * 64


def test_a_path_prefix_is_kept() -> None:
    store = open_store("https://cdn.example.org/idlegrid")
    assert isinstance(store, HttpStore)
    assert store.url("a" * 64) == "https://cdn.example.org/idlegrid/blobs/" + "a" * 64


def test_a_cache_puts_a_local_store_in_front(tmp_path: Path) -> None:
    store = open_store("http://127.0.0.1:8547", cache=tmp_path / "cache")
    assert isinstance(store, CachedStore)
    assert isinstance(store.remote, HttpStore) and store.cache.root == tmp_path / "cache"


@pytest.mark.parametrize("form", ["{p}", "file://{p}", "file://localhost{p}"])
def test_a_path_or_file_url_opens_a_local_store(tmp_path: Path, form: str) -> None:
    store = open_store(form.format(p=tmp_path / "blobs"), cache=tmp_path / "ignored")
    assert isinstance(store, LocalStore) and store.root == tmp_path / "blobs"


@pytest.mark.parametrize("location, problem", [
    ("", "is empty"),
    ("s3://bucket/blobs", "unsupported scheme s3://"),
    ("file://otherhost/blobs", "names another host"),
    ("http://", "is not an http:// or https:// URL"),
    ("http://host:notaport", "has a bad port"),
])
def test_a_bad_location_says_what_is_wrong(location: str, problem: str) -> None:
    with pytest.raises(StorageLocationError, match=problem) as e:
        open_store(location)
    assert "http:// or https:// URL of a blob server, or a local folder" in e.value.hint
    assert e.value.exit_code == 2


@pytest.mark.parametrize("text, size", [("1000", 1000), ("64KiB", 65536), ("512MiB", 512 << 20),
                                        ("2G", 2 << 30), ("3 mb", 3 << 20), ("7b", 7)])
def test_sizes_take_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "-1", "12 apples", "1.5GiB"])
def test_a_bad_size_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not a size"):
        parse_size(text)
