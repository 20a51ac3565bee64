"""Options several commands share, as argparse parent parsers: one definition, one help text.

``account_options()`` is where a role command runs and who signs (worker, requester and its
actions, verifier and its actions); ``history_db_options()`` picks the history database
(history, earnings). A sub-command that repeats its parent's options passes
``suppress=True``, so an option given before the action is not reset to its default by the
sub-command's copy (``idlegrid verifier --devnet withdraw``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


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
