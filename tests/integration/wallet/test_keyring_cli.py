"""The real CLI (`python -m engine wallet ...` subprocesses) against a real Secret Service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
from eth_account import Account

from engine.wallet import keystore
from tests.conftest import REPO
from tests.unit.wallet.vectors import (
    DEV_ADDRESS,
    DEV_KEY_HEX,
    SPEC_KEY_HEX,
    SPEC_KEYSTORE,
    SPEC_PASSWORD,
)

FAST = ["--scrypt-n", "1024"]
SECRET_SERVICE = "OS keyring: SecretService Keyring (keyring.backends.SecretService.Keyring), service 'idlegrid'"


class Cli:
    """Runs `idlegrid wallet` in a subprocess; keeps every output for leak checks."""

    def __init__(self, home: Path) -> None:
        self.tmp = home / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.outputs: list[str] = []

    def __call__(self, *args: str, stdin: str = "", ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "engine", "wallet", *args],
            cwd=REPO, env={**os.environ, "TMPDIR": str(self.tmp)},
            input=stdin, capture_output=True, text=True, timeout=120,
        )
        self.outputs += [result.stdout, result.stderr]
        if ok:
            assert result.returncode == 0, result.stderr
        return result


@pytest.fixture
def cli(idlegrid_home: Path) -> Cli:
    return Cli(idlegrid_home)


@pytest.fixture
def passfile(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase.txt"
    path.write_text("correct horse battery\n")
    return path


def _address_of(stdout: str) -> str:
    return next(line.split()[1] for line in stdout.splitlines() if line.startswith("address:"))


def test_create_show_export_delete_import_round_trip(cli: Cli, passfile: Path, tmp_path: Path) -> None:
    created = cli("create")
    address = _address_of(created.stdout)
    assert f"key:     {SECRET_SERVICE}" in created.stdout
    assert keyring.get_password("idlegrid", address) is not None

    shown = cli("show")
    assert shown.stdout == f"address: {address}\nkey:     {SECRET_SERVICE}\n"

    backup = tmp_path / "backup.json"
    cli("export", str(backup), "--passphrase-file", str(passfile))
    data = json.loads(backup.read_text())
    params = data["crypto"]["kdfparams"]
    assert (params["n"], params["r"], params["p"], params["dklen"]) == (262144, 8, 1, 32)
    key_hex = bytes(Account.decrypt(data, "correct horse battery")).hex()
    assert Account.from_key(key_hex).address == address

    deleted = cli("delete", "--yes")
    assert f"deleted wallet {address}" in deleted.stdout
    assert keyring.get_password("idlegrid", address) is None
    assert cli("show", ok=False).returncode == 1

    imported = cli("import", str(backup), "--passphrase-file", str(passfile))
    assert _address_of(imported.stdout) == address
    assert keyring.get_password("idlegrid", address) == key_hex


def test_key_never_appears_in_output_or_files(cli: Cli, passfile: Path, idlegrid_home: Path) -> None:
    cli("import", "--hex", stdin=f"0x{DEV_KEY_HEX}\n")
    cli("show")
    export = idlegrid_home / "tmp" / "export.json"
    cli("export", str(export), "--passphrase-file", str(passfile), *FAST)
    cli("import", str(export), "--passphrase-file", str(passfile), "--scrypt-n", "1024")
    cli("import", "--hex", stdin="not a key\n", ok=False)
    cli("delete", "--yes")
    assert keyring.get_password("idlegrid", DEV_ADDRESS) is None

    needles = [DEV_KEY_HEX, DEV_KEY_HEX.upper(), "0x" + DEV_KEY_HEX]
    texts = {"output": "\n".join(cli.outputs)}
    texts |= {str(p): p.read_bytes().decode("latin-1") for p in idlegrid_home.rglob("*") if p.is_file()}
    assert export.exists() and len(texts) > 2
    for where, text in texts.items():
        for needle in needles:
            assert needle not in text and needle[2:] not in text, f"the key leaked into {where}"


def test_geth_keystore_imports_into_the_keyring(cli: Cli, tmp_path: Path) -> None:
    geth = tmp_path / "UTC--geth.json"
    geth.write_text(json.dumps(SPEC_KEYSTORE))
    pw = tmp_path / "pw"
    pw.write_text(SPEC_PASSWORD)
    imported = cli("import", str(geth), "--passphrase-file", str(pw))
    address = Account.from_key(SPEC_KEY_HEX).address
    assert _address_of(imported.stdout) == address
    assert keyring.get_password("idlegrid", address) == SPEC_KEY_HEX


def test_wrong_passphrase_and_corrupt_keystore_fail_cleanly(cli: Cli, tmp_path: Path, passfile: Path) -> None:
    geth = tmp_path / "geth.json"
    geth.write_text(json.dumps(SPEC_KEYSTORE))
    wrong = cli("import", str(geth), "--passphrase-file", str(passfile), ok=False)
    assert wrong.returncode == 2 and "wrong passphrase" in wrong.stderr and "Traceback" not in wrong.stderr
    geth.write_text("{not json")
    corrupt = cli("import", str(geth), "--passphrase-file", str(passfile), ok=False)
    assert corrupt.returncode == 2 and "not valid JSON" in corrupt.stderr


def test_a_different_key_is_not_overwritten_without_replace(cli: Cli) -> None:
    first = _address_of(cli("create").stdout)
    refused = cli("import", "--hex", stdin=DEV_KEY_HEX + "\n", ok=False)
    assert refused.returncode == 1 and "--replace" in refused.stderr
    assert _address_of(cli("show").stdout) == first
    assert keyring.get_password("idlegrid", first) is not None
    cli("import", "--hex", "--replace", stdin=DEV_KEY_HEX + "\n")
    assert _address_of(cli("show").stdout) == DEV_ADDRESS
    assert keyring.get_password("idlegrid", first) is None


def test_delete_asks_first_and_keeps_the_key_on_no(cli: Cli) -> None:
    address = _address_of(cli("create").stdout)
    kept = cli("delete", stdin="n\n", ok=False)
    assert kept.returncode == 1
    assert f"This deletes the wallet {address}" in kept.stdout and "idlegrid wallet export FILE" in kept.stdout
    assert keyring.get_password("idlegrid", address) is not None
    cli("delete", stdin="yes\n")
    assert keyring.get_password("idlegrid", address) is None


def test_keystore_written_by_export_reimports_via_the_python_api(cli: Cli, passfile: Path, tmp_path: Path) -> None:
    address = _address_of(cli("create").stdout)
    out = tmp_path / "w.json"
    cli("export", str(out), "--passphrase-file", str(passfile), *FAST)
    assert keystore.decrypt(out, "correct horse battery").address == address
