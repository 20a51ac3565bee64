"""`idlegrid blobs serve|put|get`: the server as a process, transfers, and every bad input as one clear message."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.chain.anvil import free_port
from engine.cli import main
from engine.config import paths
from engine.storage import BlobServer
from tests.conftest import REPO

DATA = b"task spec" * 300
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`idlegrid blobs serve` in a subprocess, once it printed that it is ready, and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "blobs", "serve", "--port", "0", "--root", str(tmp_path / "served")],
        cwd=REPO, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if match := re.match(r"blobs: ready at (\S+);", line):
                yield proc, match.group(1)
                return
            assert line, "idlegrid blobs serve exited before it was ready"
        pytest.fail("idlegrid blobs serve did not get ready in 30s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_put_get_then_sigterm(serve_process, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc, url = serve_process
    source = tmp_path / "spec.json"
    source.write_bytes(DATA)
    assert main(["blobs", "put", str(source), "--to", url]) == 0
    assert capsys.readouterr().out == f"{SHA}\n"
    assert (tmp_path / "served" / SHA).read_bytes() == DATA
    out = tmp_path / "got" / "spec.json"
    assert main(["blobs", "get", SHA, "--out", str(out), "--from", url]) == 0
    assert capsys.readouterr().out == f"wrote {out} ({len(DATA):,} bytes, sha256 checked)\n"
    assert out.read_bytes() == DATA
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0 and rest.endswith("blobs: stopped\n")
    log = (paths().log_dir / "blob-server.log").read_text()
    assert '"POST /blobs/" 201' in log and f'"GET /blobs/{SHA}" 200' in log


def test_put_and_get_default_to_the_configured_blob_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with BlobServer(tmp_path / "root") as server:
        paths().settings_file.parent.mkdir(parents=True, exist_ok=True)
        paths().settings_file.write_text(f'[network]\nblob_url = "{server.url}"\n')
        source = tmp_path / "f"
        source.write_bytes(DATA)
        assert main(["blobs", "put", str(source)]) == 0
        assert (server.root / SHA).exists()
        assert main(["blobs", "get", SHA, "--out", str(tmp_path / "g")]) == 0
    assert (tmp_path / "g").read_bytes() == DATA


def test_a_local_folder_works_as_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "f"
    source.write_bytes(DATA)
    assert main(["blobs", "put", str(source), "--to", str(tmp_path / "dir")]) == 0
    assert (tmp_path / "dir" / SHA).read_bytes() == DATA
    assert main(["blobs", "get", SHA, "--out", str(tmp_path / "g"), "--from", f"file://{tmp_path / 'dir'}"]) == 0


def errors_of(argv: list[str], capsys: pytest.CaptureFixture[str], code: int) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_a_server_that_is_down_says_how_to_start_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "f").write_bytes(DATA)
    err = errors_of(["blobs", "put", str(tmp_path / "f"), "--to", f"http://127.0.0.1:{free_port()}"], capsys, 1)
    assert "is unavailable after 4 attempts (connection refused)" in err
    assert "hint: start a blob server with `idlegrid blobs serve`" in err and "`idlegrid devnet`" in err


def test_a_missing_blob_names_its_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with BlobServer(tmp_path / "root") as server:
        err = errors_of(["blobs", "get", SHA, "--out", str(tmp_path / "x"), "--from", server.url], capsys, 1)
    assert f"error: blob {SHA} not found at {server.url}/blobs/{SHA}" in err
    assert not (tmp_path / "x").exists()


def test_a_blob_over_max_size_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with BlobServer(tmp_path / "root") as server:
        (server.root / SHA).write_bytes(DATA)
        err = errors_of(["blobs", "get", SHA, "--out", str(tmp_path / "x"), "--from", server.url,
                         "--max-size", "1KiB"], capsys, 1)
    assert f"is too large: {len(DATA):,} bytes, above max_size of 1,024 bytes" in err


@pytest.mark.parametrize("argv, message", [
    (["blobs", "get", "ABC", "--out", "x"], "error: 'ABC' is not a blob address"),
    (["blobs", "put", "/nonexistent/file"], "error: /nonexistent/file is not a file"),
    (["blobs", "put", "{tmp}/file", "--to", "s3://bucket"], "uses the unsupported scheme s3://"),
    (["blobs", "serve", "--root", "{tmp}/file"], "is a file, not a folder"),
    (["blobs", "serve", "--port", "70000"], "--port 70000 is not a TCP port"),
])
def test_bad_input_is_exit_2_with_a_message(argv: list[str], message: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert message in errors_of(argv, capsys, 2)


def test_a_bad_size_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["blobs", "serve", "--max-size", "lots"])
    assert e.value.code == 2 and "'lots' is not a size" in capsys.readouterr().err
