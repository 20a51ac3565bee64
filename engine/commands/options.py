"""Options several commands share, as argparse parent parsers: one definition, one help text.

``account_options()`` is where a role command runs and who signs (worker, requester and its
actions, verifier and its actions); ``history_db_options()`` picks the history database
(history, earnings); ``market_options()`` the TaskMarket version a command deploys (devnet,
network deploy). A sub-command that repeats its parent's options passes
``suppress=True``, so an option given before the action is not reset to its default by the
sub-command's copy (``idlegrid verifier --devnet withdraw``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.chain.version import MarketVersion

# engine.chain.version.MarketVersion's values, newest first (that module imports web3: not at parse time)
MARKET_VERSIONS = ("v2", "v1")


def account_options(*, suppress: bool = False) -> argparse.ArgumentParser:
    """``--devnet``, ``--dev-account N`` and ``--passphrase-file FILE``."""
    default: dict[str, Any] = {"default": argparse.SUPPRESS} if suppress else {}
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--devnet", action="store_true", help="use the local devnet (`idlegrid devnet`) and its blob server",
                   **(default or {"default": False}))
    p.add_argument("--dev-account", type=int, metavar="N", **default,
                   help="with --devnet: sign with anvil's public test account N (0-9) instead of the wallet")
    p.add_argument("--passphrase-file", type=Path, metavar="FILE", **default,
                   help="the wallet keystore's passphrase, from the first line of FILE (instead of asking)")
    return p


def history_db_options() -> argparse.ArgumentParser:
    """``--db FILE``: another history database than the data folder's."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--db", type=Path, metavar="FILE", help="another history database (default: the data dir's)")
    return p


def market_options(*, note: str = "") -> argparse.ArgumentParser:
    """``--market v1|v2``: which TaskMarket to deploy, v2 unless told; ``note`` ends the help."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--market", choices=MARKET_VERSIONS, default=MARKET_VERSIONS[0],
                   help="which TaskMarket to deploy: v2, the dispute game (default), or v1, the first contract, "
                        "kept for old deployments (docs/contract.md)" + (f"; {note}" if note else ""))
    return p


def market_version(args: argparse.Namespace) -> MarketVersion:
    """The version ``--market`` chose."""
    from engine.chain.version import MarketVersion

    return MarketVersion(args.market)
