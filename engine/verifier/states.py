"""The verifier's vocabulary: job states, its settings (the CLI's options) and its errors.

Job states are stored in the history's ``jobs.state`` column as their string values, so a
:class:`VerifierState` member compares equal to the text an older database holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from engine.errors import IdlegridError, UsageError

ROLE = "verifier"
RETRY_S = 30.0


class VerifierState(StrEnum):
    """A verifier job's state (``jobs.state``)."""

    AUDITING = "auditing"
    PASSED = "passed"              # every sampled segment replayed right
    CHALLENGED = "challenged"      # we challenged; the jury decides
    UNVERIFIABLE = "unverifiable"  # no manifest that proves against the root: nothing to challenge with
    MISSED = "missed"              # the window closed, or someone else challenged first
    JUROR = "juror"
    RESOLVED = "resolved"
    WATCHING = "watching"          # a dispute seen only through a journaled write (reconciled)


class AuditPhase(StrEnum):
    """What a v2 audit does next (``detail["audit"]["phase"]``); the job's state says how it went."""

    REPLAY = "replay"          # learn who is assigned, replay the salt's segment
    DEMAND = "demand"          # a checkpoint or the manifest cannot be had: demanded on chain
    COMMIT = "commit"          # assigned and replayed right: commit to the leaf
    REVEAL = "reveal"          # committed: reveal once the result is final, for the fee share
    CHALLENGE = "challenge"    # the segment did not hold up: commit, then reveal the challenge
    DONE = "done"


class VerifierError(IdlegridError):
    """The verifier cannot go on (no devnet deployed, nothing to unregister, ...)."""


class VerifierOptionError(VerifierError, UsageError):
    """An option of the verifier is unusable (a stake below the minimum, a bad dev account)."""


@dataclass(frozen=True)
class VerifierConfig:
    """How a verifier works; the CLI's options."""

    stake: int | None = None            # wei to register with; None: the market's minimum
    samples: int | None = None          # fixed segments per result; None: from the economics
    detection: float = 0.99             # target P(caught) for a run with faked_fraction faked
    faked_fraction: float = 1.0
    auto_withdraw: bool = False
    device: str = "cpu"
    replay_timeout_s: float = 3600.0
    poll_interval_s: float = 2.0
    start_block: int | None = None      # where to start reading events the first time; None: lookback
    lookback_blocks: int = 10_000
    mine_for_seed: bool = False         # devnet only: mine the block after a commit instead of waiting
    work_dir: Path | None = None        # downloads and replays; default <cache>/verifier
    register: bool = True
    replay_in_process: bool = False     # True only in a process of its own (the CLI): torch loads here
