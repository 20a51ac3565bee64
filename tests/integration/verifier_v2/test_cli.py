"""``idlegrid verifier`` on a v2 devnet deployment, as a user runs it: a real subprocess, the
deployment file ``idlegrid devnet --market v2`` writes, a real blob server over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.chain.devnet import Deployment, deployment_file
from engine.chain.settings import NetworkSettings, save_network
from engine.storage import BlobServer, LocalStore
from engine.units import format_eth
from tests.integration.verifier.test_cli import idlegrid
from tests.integration.verifier_v2.helpers import next_epoch, pass_window, publish


@pytest.fixture
def devnet_v2_home(deployment_v2: Deployment, chain, tmp_path: Path) -> Iterator[BlobServer]:
    """This test's IDLEGRID_HOME as `idlegrid devnet --market v2` leaves it: deployment file, blob server."""
    deployment_v2.save(deployment_file())
    with BlobServer(tmp_path / "served") as server:
        save_network(NetworkSettings(blob_url=server.url))
        yield server


def test_idlegrid_verifier_registers_audits_and_is_paid_on_a_v2_devnet(devnet_v2_home, v2_for, accounts,
                                                                       trained) -> None:
    first = idlegrid("verifier", "--devnet", "--dev-account", "3", "--once")
    assert first.returncode == 0, first.stderr
    assert "registered as a verifier with a stake of 0.1 ETH" in first.stdout
    me = v2_for(accounts[3])
    assert me.is_verifier(accounts[3].address)
    next_epoch(me)

    posted = publish(LocalStore(devnet_v2_home.root), v2_for(accounts[1]), v2_for(accounts[2]), trained)
    audit = idlegrid("verifier", "--devnet", "--dev-account", "3", "--once")
    assert audit.returncode == 0, audit.stderr
    print(audit.stdout)
    assert f"task {posted.task_id}: result committed by {accounts[2].address}" in audit.stdout
    assert ": honest: replay reproduced leaf" in audit.stdout
    assert audit.stdout.splitlines()[-1].endswith("revealed once the result is final"), audit.stdout

    pass_window(me)
    paid = idlegrid("verifier", "--devnet", "--dev-account", "3", "--once", "--auto-withdraw")
    assert paid.returncode == 0, paid.stderr
    print(paid.stdout)
    fee = format_eth(me.get_task(posted.task_id).verification_fee, digits=6)
    assert f"paid {fee} ETH" in paid.stdout and f"withdrew {fee} ETH" in paid.stdout, paid.stdout
    assert me.credits(accounts[3].address) == 0
