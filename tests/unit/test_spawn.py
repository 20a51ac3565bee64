"""Child processes start through the right executable, from source and from a frozen build."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.chain.anvil import anvil_binary
from engine.runner.client import runner_command
from engine.spawn import idlegrid_command


def test_from_source_children_run_the_engine_module() -> None:
    assert idlegrid_command("devnet", "--port", "1") == [sys.executable, "-m", "engine", "devnet", "--port", "1"]
    assert runner_command() == [sys.executable, "-m", "engine", "runner"]


def test_frozen_app_starts_children_through_the_console_executable_beside_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "idlegrid-app"))
    assert runner_command() == [str(tmp_path / "idlegrid"), "runner"]
    assert idlegrid_command("verifier", "--devnet") == [str(tmp_path / "idlegrid"), "verifier", "--devnet"]


def test_frozen_build_uses_its_bundled_anvil(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundled = tmp_path / "resources" / "bin" / "anvil"
    bundled.parent.mkdir(parents=True)
    bundled.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert anvil_binary(tmp_path / "no-node-modules") == bundled
