"""``idlegrid verifier`` as a user runs it: a real subprocess, a real devnet deployment file,
a real blob server over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.chain.devnet import Deployment, deployment_file
from engine.chain.settings import NetworkSettings, save_network
from engine.cli import main
from engine.storage import BlobServer, LocalStore
from tests.integration.verifier.commitments import publish

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def devnet_home(deployment: Deployment, chain, tmp_path: Path) -> Iterator[BlobServer]:
    """This test's IDLEGRID_HOME set up as `idlegrid devnet` leaves it: deployment file, blob server."""
    deployment.save(deployment_file())
    with BlobServer(tmp_path / "served") as server:
        save_network(NetworkSettings(blob_url=server.url))
        yield server


def idlegrid(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=REPO,
                          env=os.environ.copy(), timeout=timeout, check=False)


def test_verifier_once_audits_a_result_and_prints_one_line_per_action(devnet_home, market_for, accounts,
                                                                      trained) -> None:
    posted = publish(LocalStore(devnet_home.root), market_for(accounts[1]), market_for(accounts[2]), trained)
    done = idlegrid("verifier", "--devnet", "--dev-account", "3", "--once", "--samples", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    print(done.stdout)
    assert any(line.endswith("registered as a verifier with a stake of 0.1 ETH") for line in lines)
    assert any(f"task {posted.task_id}: result committed by {accounts[2].address}" in line for line in lines)
    assert any("sampling 2 of 6 segments (fixed)" in line for line in lines)
    assert sum(": honest: replay reproduced leaf" in line for line in lines) == 2
    assert lines[-1].endswith("all 2 sampled segments replayed right: not challenged")

    again = idlegrid("verifier", "--devnet", "--dev-account", "3", "withdraw")
    assert (again.returncode, again.stdout.strip()) == (0, "nothing to withdraw")


@pytest.mark.parametrize("args, message", [
    (["--samples", "0"], "--samples 0: replay at least one segment"),
    (["--detection", "1.5"], "--detection 1.5: must be a probability in (0, 1]"),
    (["--faked-fraction", "0"], "--faked-fraction 0.0: must be a probability in (0, 1]"),
    (["--dev-account", "12"], "--dev-account 12 does not exist"),
])
def test_bad_options_say_what_to_fix(devnet_home, args: list[str], message: str, capsys) -> None:
    assert main(["verifier", "--devnet", *args]) == 2
    err = capsys.readouterr().err
    assert f"error: {message}" in err and "hint:" in err


def test_devnet_without_a_deployment_says_how_to_start_one(capsys) -> None:
    assert main(["verifier", "--devnet", "--dev-account", "3", "--once"]) == 1
    err = capsys.readouterr().err
    assert "no local devnet is deployed" in err and "idlegrid devnet" in err


def test_a_stake_that_is_not_an_amount_is_refused(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["verifier", "--stake", "lots"])
    assert e.value.code == 2
    assert "'lots' is not an amount of ETH" in capsys.readouterr().err


def test_an_unreadable_passphrase_file_is_named(tmp_path: Path, capsys) -> None:
    assert main(["verifier", "--passphrase-file", str(tmp_path / "nope.txt"), "--once"]) == 2
    err = capsys.readouterr().err
    assert f"cannot read the passphrase file {tmp_path / 'nope.txt'}" in err and "hint:" in err
