"""Child processes start through the right executable, from source and from a frozen build."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.chain.anvil import anvil_binary
from engine.cli import build_parser
from engine.commands.app import forwarded
from engine.runner.client import runner_command
from engine.spawn import app_command, idlegrid_command


def test_from_source_children_run_the_engine_module() -> None:
    assert idlegrid_command("devnet", "--port", "1") == [sys.executable, "-m", "engine", "devnet", "--port", "1"]
    assert runner_command() == [sys.executable, "-m", "engine", "runner"]
    assert app_command("--devnet") == [sys.executable, "-m", "app", "--devnet"]


def test_frozen_app_starts_children_through_the_console_executable_beside_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "idlegrid-app"))
    assert runner_command() == [str(tmp_path / "idlegrid"), "runner"]
    assert idlegrid_command("verifier", "--devnet") == [str(tmp_path / "idlegrid"), "verifier", "--devnet"]
    assert app_command("--devnet") == [str(tmp_path / "idlegrid-app"), "--devnet"]


def test_frozen_build_uses_its_bundled_anvil(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundled = tmp_path / "resources" / "bin" / "anvil"
    bundled.parent.mkdir(parents=True)
    bundled.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert anvil_binary(tmp_path / "no-node-modules") == bundled


def test_idlegrid_app_hands_its_options_to_the_app_process_unchanged() -> None:
    argv = ["--devnet", "--devnet-port", "9545", "--devnet-blob-port", "9547", "--dev-account", "3",
            "--quit-after", "2.5"]
    args = build_parser().parse_args(["app", *argv])
    assert build_parser().parse_args(["app", *forwarded(args)]) == args
    assert forwarded(build_parser().parse_args(["app"])) == ["--devnet-port", "8545", "--devnet-blob-port", "8547"]
