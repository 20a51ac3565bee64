"""`idlegrid requester …` end to end on a devnet deployment: real anvil, blob server, history."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from web3 import Web3

from engine.chain.anvil import rpc
from engine.chain.devnet import DEV_KEYS, Deployment, deployment_file
from engine.cli import main
from engine.storage import BlobServer
from tests.specs import edit, quick_mlp, write

DEV1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # address of DEV_KEYS[1]


@pytest.fixture
def devnet(chain: Web3, deployment: Deployment, blob_server: BlobServer) -> Deployment:
    """This test's IDLEGRID_HOME points at the session's anvil and the test's blob server."""
    recorded = replace(deployment, blob_url=blob_server.url)
    recorded.save(deployment_file())
    return recorded


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["requester", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_post_status_cancel_and_withdraw(
    devnet: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path / "spec.json", quick_mlp())
    dev = ("--devnet", "--dev-account", "1")
    code, out, err = run(capsys, "post", str(spec), "--reward", "0.05", "--window", "600", *dev)
    assert code == 0, err
    task_id = int(out.split()[2])
    assert f"posted task {task_id} (digits-mlp): reward 0.05 ETH escrowed, worker stake 0.005 ETH" in out
    assert "challenge window 600 s" in out and "tx:    0x" in out

    code, out, _ = run(capsys, "status", *dev)
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split()[:5] == ["ID", "NAME", "STATE", "REWARD", "ETH"]
    assert row.split()[:4] == [str(task_id), "digits-mlp", "open", "0.05"] and "claim by" in row

    code, out, _ = run(capsys, "status", str(task_id), "--json", *dev)
    (view,) = json.loads(out)
    assert (view["task_id"], view["state"], view["requester"], view["reward"]) == (task_id, "open", DEV1, 5 * 10**16)

    code, out, _ = run(capsys, "status", str(task_id), *dev)
    assert "state:        open" in out and "dispute:      none" in out

    code, out, err = run(capsys, "cancel", str(task_id), *dev)
    assert code == 0, err
    assert f"cancelled task {task_id}: 0.05 ETH credited back (your credit is now 0.05 ETH" in out

    code, out, err = run(capsys, "withdraw", *dev)
    assert code == 0, err
    assert f"withdrew 0.05 ETH to {DEV1}" in out


@pytest.mark.parametrize("args, message", [
    (["--reward", "lots"], "error: --reward 'lots' is not a number"),
    (["--reward", "0"], "error: --reward 0 ETH is too small"),
    (["--reward", "1", "--stake", "0.0"], "error: --stake 0.0 ETH is too small"),
    (["--reward", "1", "--window", "0"], "error: --window 0 s is out of range"),
])
def test_bad_amounts_and_terms_are_clear_errors(devnet: Deployment, tmp_path: Path, args: list[str], message: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    spec = write(tmp_path / "spec.json", quick_mlp())
    code, _, err = run(capsys, "post", str(spec), *args, "--devnet", "--dev-account", "1")
    assert code == 2 and message in err


def test_an_invalid_spec_is_a_clear_error(
    devnet: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path / "bad.json", edit(quick_mlp(), "optimizer.lr", -1))
    code, _, err = run(capsys, "post", str(spec), "--reward", "1", "--devnet", "--dev-account", "1")
    assert code == 2 and "error: " in err and "bad.json: optimizer.lr" in err


def test_unknown_task_ids_are_clear_errors(
    devnet: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for action in (["status", "31"], ["cancel", "31"], ["results", "31", "--out", str(tmp_path / "o")]):
        code, _, err = run(capsys, *action, "--devnet", "--dev-account", "1")
        assert code == 2 and "error: task 31 does not exist on this market" in err, action


def test_dev_account_needs_devnet(devnet: Deployment, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status", "--dev-account", "1")
    assert code == 2 and "--dev-account works only with --devnet" in err
    code, _, err = run(capsys, "status", "--devnet", "--dev-account", str(len(DEV_KEYS)))
    assert code == 2 and f"--dev-account {len(DEV_KEYS)} does not exist" in err


def test_devnet_without_a_devnet_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "status", "--devnet", "--dev-account", "1")
    assert code == 1 and "no local devnet has been started" in err and "idlegrid devnet" in err


def test_posting_without_a_blob_server_is_a_clear_error(chain: Web3, deployment: Deployment, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    replace(deployment, blob_url=None).save(deployment_file())
    spec = write(tmp_path / "spec.json", quick_mlp())
    code, _, err = run(capsys, "post", str(spec), "--reward", "1", "--devnet", "--dev-account", "1")
    assert code == 2 and "no blob server is configured" in err
    code, out, _ = run(capsys, "status", "--devnet", "--dev-account", "1")
    assert code == 0 and "no tasks posted from this wallet" in out


def test_a_keystore_wallet_signs_with_the_passphrase_file(devnet: Deployment, chain: Web3, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("correct horse\n")
    assert main(["wallet", "create", "--keystore", str(tmp_path / "key.json"), "--passphrase-file", str(passphrase),
                 "--scrypt-n", "1024"]) == 0
    address = capsys.readouterr().out.split("address: ")[1].split()[0]
    rpc(chain, "anvil_setBalance", address, hex(10**18))
    spec = write(tmp_path / "spec.json", quick_mlp())
    code, out, err = run(capsys, "post", str(spec), "--reward", "0.1", "--devnet", "--passphrase-file", str(passphrase))
    assert code == 0, err
    (view,) = json.loads(run(capsys, "status", out.split()[2], "--json", "--devnet",
                             "--passphrase-file", str(passphrase))[1])
    assert view["requester"] == address


def test_a_wrong_keystore_passphrase_is_a_clear_error(devnet: Deployment, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    right.write_text("correct horse\n")
    wrong.write_text("battery staple\n")
    assert main(["wallet", "create", "--keystore", str(tmp_path / "key.json"), "--passphrase-file", str(right),
                 "--scrypt-n", "1024"]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "status", "--devnet", "--passphrase-file", str(wrong))
    assert code != 0 and "error: " in err and "Traceback" not in err
    assert "passphrase" in err and "battery staple" not in err
