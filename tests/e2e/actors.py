"""The people of the network in the end-to-end tests: one dev account and one IDLEGRID_HOME each.

Every actor gets its own home (config, data, history, jobs, blob cache), so two workers on one
machine share nothing but the chain and the blob server, exactly as on two machines. Keys are
anvil's public test keys (``--dev-account N``): never real funds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from eth_account import Account

from engine.chain.devnet import DEV_KEYS, Deployment

# which dev account plays which part; anvil has ten, so the deployer (0) doubles as a cheater
# (its deployment is mined before the accounts are counted)
REQUESTER = 1
HONEST = 2
VERIFIERS = (3, 4, 5, 6)
CHEATERS = {"skipped_steps": 7, "random_weights": 8, "stale": 9, "wrong_data": 0}


@dataclass
class Actor:
    name: str
    index: int                      # anvil dev account
    home: Path                      # its IDLEGRID_HOME
    settings: dict[str, Any] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. its own ATEN_CPU_CAPABILITY

    @property
    def address(self) -> str:
        return Account.from_key(DEV_KEYS[self.index]).address

    @property
    def key(self) -> str:
        return DEV_KEYS[self.index]

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(IDLEGRID_HOME=str(self.home), PYTHONUNBUFFERED="1", **self.extra_env)
        return env

    def write_settings(self) -> Actor:
        path = self.home / "config" / "settings.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(self.settings), encoding="utf-8")
        return self

    def write_deployment(self, deployment: Deployment) -> Actor:
        """What ``--devnet`` reads (``<data>/devnet/deployment.json``): the commands accept
        ``--dev-account N`` only on a devnet, and this is the test network's."""
        deployment.save(self.data_dir / "devnet" / "deployment.json")
        return self


def network_settings(rpc_url: str, market_address: str, blob_url: str, chain_id: int) -> dict[str, Any]:
    """Settings of a machine on the test network: CPU training, always allowed to run."""
    return {
        "network": {"rpc_url": rpc_url, "market_address": market_address, "blob_url": blob_url,
                    "chain_id": chain_id, "confirmations": 0},
        "gpu": {"backend": "cpu", "allow_cpu": True},
        "policy": {"run_when": "always", "pause_on_battery": False},
    }


def make_actor(root: Path, name: str, index: int, deployment: Deployment,
               **sections: dict[str, Any]) -> Actor:
    """An actor with its own home under ``root`` on the network of ``deployment`` (blob server
    included), with ``sections`` merged into its settings."""
    settings = network_settings(deployment.rpc_url, deployment.market_address, deployment.blob_url or "",
                                deployment.chain_id)
    for section, values in sections.items():
        settings.setdefault(section, {}).update(values)
    return Actor(name, index, root / name, settings).write_settings().write_deployment(deployment)
