"""The CLI's prompts and refusals. The round trips through a real keyring are in
tests/integration/wallet/."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.wallet import keystore, settings
from tests.conftest import REPO
from tests.unit.wallet.backends import MemoryKeyring
from tests.unit.wallet.conftest import LIGHT_SCRYPT_N
from tests.unit.wallet.vectors import DEV_ADDRESS, DEV_KEY_HEX

FAST = ["--scrypt-n", str(LIGHT_SCRYPT_N)]


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "wallet", *args],
        cwd=REPO, env={**os.environ, **(env or {})}, input=stdin, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch):
    """Feed getpass answers in order."""

    def give(*replies: str) -> None:
        queue = list(replies)
        monkeypatch.setattr("getpass.getpass", lambda prompt="": queue.pop(0))

    return give


@pytest.mark.parametrize(
    "backend", ["keyring.backends.fail.Keyring", "tests.unit.wallet.backends.PlaintextKeyring"]
)
@pytest.mark.parametrize("action", [["create"], ["import", "--hex"]])
def test_cli_refuses_an_insecure_keyring_and_names_the_fix(backend: str, action: list[str], tmp_path: Path) -> None:
    result = run_cli(*action, env={"PYTHON_KEYRING_BACKEND": backend}, stdin=DEV_KEY_HEX + "\n")
    assert result.returncode == 1
    assert f"refusing to keep the private key in the keyring backend {backend}" in result.stderr
    assert "start a Secret Service" in result.stderr and "--keystore FILE" in result.stderr
    assert "Traceback" not in result.stderr and DEV_KEY_HEX not in result.stderr + result.stdout


def test_cli_honours_keyrings_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "xdg" / "python_keyring" / "keyringrc.cfg"
    config.parent.mkdir(parents=True)
    config.write_text("[backend]\ndefault-keyring = tests.unit.wallet.backends.PlaintextKeyring\n")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    result = run_cli("create", env=env)
    assert result.returncode == 1
    assert "tests.unit.wallet.backends.PlaintextKeyring" in result.stderr


def test_without_a_keyring_a_keystore_file_works(tmp_path: Path) -> None:
    passfile = tmp_path / "pass.txt"
    passfile.write_text("battery staple\n")
    fail = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    ks = tmp_path / "wallet.json"
    result = run_cli("import", "--hex", "--keystore", str(ks), "--passphrase-file", str(passfile), *FAST,
                     env=fail, stdin="0x" + DEV_KEY_HEX + "\n")
    assert result.returncode == 0, result.stderr
    assert f"address: {DEV_ADDRESS}" in result.stdout
    assert keystore.decrypt(ks, "battery staple").address == DEV_ADDRESS
    shown = run_cli("show", env=fail)
    assert shown.stdout == f"address: {DEV_ADDRESS}\nkey:     keystore file {ks} (encrypted)\n"


def test_create_asks_the_keystore_passphrase_twice(memory_keyring, answers, tmp_path: Path, capsys) -> None:
    answers("pw one", "pw one")
    assert main(["wallet", "create", "--keystore", str(tmp_path / "k.json"), *FAST]) == 0
    assert keystore.decrypt(tmp_path / "k.json", "pw one").address == settings.load().address
    assert memory_keyring.entries == {}


def test_differing_passphrases_write_nothing(memory_keyring, answers, tmp_path: Path, capsys) -> None:
    answers("pw one", "pw two")
    assert main(["wallet", "create", "--keystore", str(tmp_path / "k.json"), *FAST]) == 2
    assert "the two passphrases differ" in capsys.readouterr().err
    assert not (tmp_path / "k.json").exists() and settings.load().address is None


def test_import_of_a_different_key_needs_replace(memory_keyring: MemoryKeyring, monkeypatch, capsys) -> None:
    assert main(["wallet", "create"]) == 0
    first = settings.load().address
    monkeypatch.setattr("sys.stdin", io.StringIO(DEV_KEY_HEX + "\n"))
    assert main(["wallet", "import", "--hex"]) == 1
    assert "--replace" in capsys.readouterr().err and settings.load().address == first
    monkeypatch.setattr("sys.stdin", io.StringIO(DEV_KEY_HEX + "\n"))
    assert main(["wallet", "import", "--hex", "--replace"]) == 0
    assert settings.load().address == DEV_ADDRESS
    assert list(memory_keyring.entries) == [("idlegrid", DEV_ADDRESS)]


def test_delete_shows_the_address_reminds_to_export_and_keeps_the_key_on_no(
    memory_keyring: MemoryKeyring, monkeypatch, capsys
) -> None:
    assert main(["wallet", "create"]) == 0
    address = settings.load().address
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert main(["wallet", "delete"]) == 1
    out = capsys.readouterr().out
    assert address in out and "idlegrid wallet export FILE" in out
    assert memory_keyring.entries
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert main(["wallet", "delete"]) == 0
    assert memory_keyring.entries == {} and settings.load().address is None


def test_export_with_a_wrong_passphrase_file_source_is_refused(memory_keyring, tmp_path: Path, capsys) -> None:
    assert main(["wallet", "create"]) == 0
    assert main(["wallet", "export", str(tmp_path / "out.json"), "--passphrase-file", str(tmp_path / "none")]) == 2
    assert "cannot read the passphrase file" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert main(["wallet", "export", str(tmp_path / "out.json"), "--passphrase-file", str(empty)]) == 2
    assert not (tmp_path / "out.json").exists()


def test_import_of_a_corrupt_keystore_names_the_file(memory_keyring, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 3}))
    passfile = tmp_path / "pass.txt"
    passfile.write_text("x\n")
    assert main(["wallet", "import", str(bad), "--passphrase-file", str(passfile)]) == 2
    err = capsys.readouterr().err
    assert f"keystore file {bad}: field 'crypto'" in err and "hint:" in err


def test_show_without_a_wallet_says_how_to_make_one(memory_keyring, capsys) -> None:
    assert main(["wallet", "show"]) == 1
    assert "idlegrid wallet create" in capsys.readouterr().err


def test_cli_default_scrypt_cost_is_the_keystore_standard() -> None:
    from engine.commands import wallet as command

    assert command.STANDARD_SCRYPT_N == keystore.STANDARD_SCRYPT_N == 262144


def test_registering_the_command_does_not_import_the_wallet_stack() -> None:
    code = (
        "import argparse, sys; from engine.commands import wallet; "
        "wallet.register(argparse.ArgumentParser().add_subparsers()); "
        "print(sorted(m for m in ('eth_account', 'keyring', 'engine.wallet') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr
