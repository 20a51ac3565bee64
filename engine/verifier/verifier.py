"""The verifier: audits committed results, challenges bad ones, and serves on juries.

One turn of :meth:`Verifier.step` does, in order:

1. settle transactions journaled before a crash (once per start);
2. register as a verifier with a stake (once, unless it is unregistering);
3. read the market's new events: results to audit, disputes, juries drawn, resolutions;
4. jury duties, which have deadlines: draw a jury whose draw block has come, commit a vote
   (after replaying the disputed segment), reveal it, resolve a dispute that is due;
5. audit: replay one sampled segment of one committed result (the slow part), and challenge
   with the bond when it does not hold up (see :mod:`engine.verifier.evidence` for the rules);
6. with ``auto_withdraw``, pull the credits the market holds for it.

Every chain write is journaled in :mod:`engine.history` (the signed transaction) before it
is sent, and reconciled on restart; a vote and its salt are kept in the job's history record
before the commitment is sent, so a restarted verifier can still reveal. The samples of an audit come
from the hash of the block after the commit (:mod:`engine.verifier.audit`), so a worker cannot know
them when it commits, and each verifier draws its own.

Torch never loads in this process: segments are replayed by an ``idlegrid replay`` subprocess.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from web3.types import TxReceipt

from engine.chain.anvil import mine
from engine.chain.errors import ChainError, ContractRevert, NonceConsumed
from engine.chain.events import EventCursor
from engine.chain.market import (
    Challenged,
    ContractCall,
    DisputeResolved,
    JurorPenalized,
    JuryDrawDeferred,
    JuryDrawn,
    MarketEvent,
    ResultSubmitted,
    TaskFinalized,
    TaskMarket,
    TaskReopened,
    TaskStatus,
    vote_commitment,
)
from engine.chain.rpc import translated
from engine.config import paths
from engine.errors import IdlegridError, UsageError
from engine.events import EngineEvent, EngineState, Kind, Listener, ignore
from engine.roles.txjournal import TxJournal, gas_paid
from engine.storage.errors import StorageError
from engine.storage.store import BlobStore
from engine.verifier.audit import AuditError, audit_seed, plan_samples, sample_segments
from engine.verifier.evidence import (
    Commitment,
    ReplayFailed,
    Result,
    SegmentCheck,
    UnverifiableResult,
    Verdict,
    WrongDevice,
    check_segment,
    fetch_result,
)

ROLE = "verifier"
RETRY_S = 30.0

# job states of a verifier job (one per task; detail holds "audit", "challenge", "jury")
AUDITING = "auditing"
PASSED = "passed"              # every sampled segment replayed right
CHALLENGED = "challenged"      # we challenged; the jury decides
UNVERIFIABLE = "unverifiable"  # no manifest that proves against the root: nothing to challenge with
MISSED = "missed"              # the window closed, or someone else challenged first
JUROR = "juror"
RESOLVED = "resolved"


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


@dataclass
class _Cursor:
    """What the verifier remembers between runs besides history: where it read to, and the
    disputes it watches (to draw juries and resolve them)."""

    path: Path
    next_block: int | None = None
    disputes: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> "_Cursor":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, raw.get("next_block"), set(raw.get("disputes", [])))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError, AttributeError) as e:
            raise VerifierError(f"the verifier's state file {path} is unreadable ({e})",
                                hint="delete it: the verifier then reads recent events again") from None

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"next_block": self.next_block, "disputes": sorted(self.disputes)}))
        os.replace(tmp, self.path)


class Verifier:
    """Audits results and serves on juries for one market, signing as ``market``'s wallet."""

    def __init__(self, market: TaskMarket, store: BlobStore, history: Any, *,
                 config: VerifierConfig | None = None, listener: Listener = ignore) -> None:
        self.market = market
        self.store = store
        self.history = history
        self.config = config or VerifierConfig()
        self.listener = listener
        self.address = market.sender_or_fail().address
        with translated("eth_chainId"):
            self.chain_id = market.w3.eth.chain_id
        self.params = market.params()
        self.work_dir = self.config.work_dir or paths().cache_dir / "verifier"
        self._cursor = _Cursor.load(paths().data_dir / "verifier" /
                                    f"{self.chain_id}-{market.address}-{self.address}.json")
        self._journal = TxJournal(history, market, role=ROLE)
        self._reconciled = False
        self._registered_checked = False
        self._penalties: dict[str, int] = {}
        self._retry_at: dict[int, float] = {}

    @classmethod
    def from_settings(cls, *, config: VerifierConfig | None = None, devnet: bool = False,
                      dev_account: int | None = None, passphrase: Any = None, history: Path | None = None,
                      listener: Listener = ignore) -> "Verifier":
        """A verifier on the configured network (or the local devnet), signing with the wallet
        (or, on a devnet, anvil's public test account ``dev_account``).

        ``history`` defaults to the user's history; a dev account is a test actor (the devnet's
        demo verifier is one), so its jobs go to ``<data>/devnet/dev-account-N-history.sqlite3``
        and never mix with the user's (jobs are keyed by task and role, not by account)."""
        from engine.chain.devnet import devnet_dir
        from engine.chain.market import open_market
        from engine.history import History
        from engine.storage import open_store

        network = _network(devnet)
        market = open_market(network, _signer(network.chain_id, dev_account, passphrase))
        store = open_store(network.blob_url or str(paths().blobs_dir), cache=paths().cache_dir / "blobs")
        if history is None and dev_account is not None:
            history = devnet_dir() / f"dev-account-{dev_account}-history.sqlite3"
        return cls(market, store, History.open(history), config=config, listener=listener)

    # ------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set; transient trouble (node, blob store, replay) is reported
        and retried after ``poll_interval_s``."""
        self._emit(Kind.STATE, f"verifier {self.address} on market {self.market.address}",
                   data={"state": EngineState.STARTING.value, "reason": "starting"})
        while not stop.is_set():
            try:
                busy = self.step()
            except UsageError:
                raise  # the user must fix an option or a setting
            except IdlegridError as e:  # the node, the blob store, a replay, the disk: try again
                self._emit(Kind.LOG, f"will retry: {e.message}", data={"hint": e.hint or ""})
                busy = False
            if not busy:
                stop.wait(self.config.poll_interval_s)
        self._emit(Kind.STATE, "verifier stopped", data={"state": EngineState.STOPPED.value, "reason": "stopped"})

    def step(self) -> bool:
        """One turn (see the module docstring); False when there was nothing to do."""
        busy = False
        if not self._reconciled:
            busy |= self._reconcile()
            self._reconciled = True
        if not self._registered_checked:
            busy |= self._ensure_registered()
            self._registered_checked = True
        busy |= self._read_events()
        busy |= self._draw_juries()
        busy |= self._jury_duties()
        busy |= self._resolve_due()
        if not busy:
            busy |= self._audit_one()
        if self.config.auto_withdraw and self.market.credits(self.address) > 0:
            self.withdraw()
            busy = True
        return busy

    # ------------------------------------------------------------ account

    def _ensure_registered(self) -> bool:
        if not self.config.register or self.market.is_verifier(self.address):
            return False
        if self.market.unbonding_until(self.address) != 0:
            self._emit(Kind.LOG, "unregistering: not joining juries (audits go on)")
            return False
        stake = self.params.min_verifier_stake if self.config.stake is None else self.config.stake
        if stake < self.params.min_verifier_stake:
            raise VerifierOptionError(f"a stake of {_eth(stake)} is below the market's minimum of "
                                f"{_eth(self.params.min_verifier_stake)}",
                                hint=f"use --stake {self.params.min_verifier_stake / 1e18:g} or more")
        receipt = self._send(self.market.register_verifier(stake), None, "register")
        self.history.add_ledger(self.chain_id, self.market.address, None, "bond", stake, tx_hash=_hash(receipt))
        self._emit(Kind.JOB, f"registered as a verifier with a stake of {_eth(stake)}",
                   data={"state": "registered", "tx_hash": _hash(receipt)})
        return True

    def withdraw(self) -> str | None:
        """Pull this account's credits (juror rewards, won bonds, a returned stake); the tx
        hash, or None when there is nothing to withdraw. Also withdraws an unbonded stake."""
        until = self.market.unbonding_until(self.address)
        if until and self._now() >= until and self.market.juror_duties(self.address) == 0:
            stake = self.market.verifier_stake(self.address)
            receipt = self._send(self.market.withdraw_stake(), None, "withdrawStake")
            self.history.add_ledger(self.chain_id, self.market.address, None, "bond_returned", stake,
                                    tx_hash=_hash(receipt))
            self._emit(Kind.JOB, "verifier stake returned to credits", data={"state": "unbonded"})
        amount = self.market.credits(self.address)
        if amount == 0:
            return None
        receipt = self._send(self.market.withdraw(), None, "withdraw")
        self.history.add_ledger(self.chain_id, self.market.address, None, "withdrawn", amount, tx_hash=_hash(receipt))
        self._emit(Kind.EARNINGS, f"withdrew {_eth(amount)}", data={"withdrawn": amount, "tx_hash": _hash(receipt)})
        return _hash(receipt)

    def unregister(self) -> str:
        """Leave the jury pool; the stake is withdrawable after the unbonding period."""
        if not self.market.is_verifier(self.address):
            until = self.market.unbonding_until(self.address)
            if until:
                return f"already unregistering; the stake is withdrawable from {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(until))} UTC"
            raise VerifierError(f"{self.address} is not a registered verifier", hint="nothing to unregister")
        receipt = self._send(self.market.unregister(), None, "unregister")
        until = self.market.unbonding_until(self.address)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(until))
        self._emit(Kind.JOB, f"unregistering: stake withdrawable from {when} UTC",
                   data={"state": "unregistering", "tx_hash": _hash(receipt)})
        return f"unregistering; the stake of {_eth(self.market.verifier_stake(self.address))} is withdrawable from {when} UTC (then `idlegrid verifier withdraw`)"

    # ------------------------------------------------------------ events

    def _read_events(self) -> bool:
        poller = self.market.poller()
        if self._cursor.next_block is None:
            start = self.config.start_block
            if start is None:
                start = max(0, poller.safe_head() - self.config.lookback_blocks)
            self._cursor.next_block = start
        events, cursor = poller.poll(EventCursor(self._cursor.next_block))
        for event in events:
            self._on_event(event)
        changed = cursor.next_block != self._cursor.next_block
        self._cursor.next_block = cursor.next_block
        if changed:
            self._cursor.save()
        return bool(events)

    def _on_event(self, event: MarketEvent) -> None:
        if isinstance(event, ResultSubmitted):
            self._on_result(event)
        elif isinstance(event, Challenged):
            self._cursor.disputes.add(event.task_id)
            job = self._job(event.task_id)
            if job is not None and job.state == AUDITING and event.challenger != self.address:
                self._update(event.task_id, state=MISSED, outcome=f"challenged first by {event.challenger}")
                self._emit(Kind.LOG, f"challenged first by {event.challenger} (segment {event.segment}): audit stopped",
                           event.task_id, {"state": MISSED})
        elif isinstance(event, JuryDrawDeferred):
            self._cursor.disputes.add(event.task_id)
        elif isinstance(event, JuryDrawn) and self.address in event.jury:
            self._on_drawn(event)
        elif isinstance(event, JurorPenalized):
            self._penalties[event.tx_hash] = self._penalties.get(event.tx_hash, 0) + event.amount
            if event.juror == self.address:
                self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "slashed", event.amount,
                                        tx_hash=event.tx_hash)
                self._emit(Kind.NOTICE, f"penalized {_eth(event.amount)} for not revealing a vote",
                           event.task_id, {"state": "penalized"})
        elif isinstance(event, DisputeResolved):
            self._on_resolved(event)
        elif isinstance(event, (TaskFinalized, TaskReopened)):
            job = self._job(event.task_id)
            if job is not None and job.state == AUDITING:
                self._update(event.task_id, state=MISSED, outcome="the challenge window closed before the audit ended")

    def _on_result(self, event: ResultSubmitted) -> None:
        if event.worker == self.address:
            return  # a verifier cannot challenge its own result
        audit = {"commit_block": event.block_number, "worker": event.worker, "root": "0x" + event.merkle_root.hex(),
                 "num_leaves": event.num_leaves, "result_uri": event.result_uri,
                 "deadline": event.challenge_deadline, "samples": None, "checked": {}}
        job = self._job(event.task_id)
        detail = dict(job.detail) if job is not None else {}
        if detail.get("audit", {}).get("root") == audit["root"] and detail["audit"].get("commit_block") == event.block_number:
            return  # seen before a restart
        detail["audit"] = audit
        self.history.upsert_job(self.chain_id, self.market.address, event.task_id, ROLE, state=AUDITING,
                                outcome=None, merkle_root=audit["root"], detail=detail, started_at=time.time())
        self._emit(Kind.JOB, f"result committed by {event.worker} ({event.num_leaves} checkpoints): auditing",
                   event.task_id, {"state": AUDITING})

    # ------------------------------------------------------------ audits

    def _audit_one(self) -> bool:
        now = time.time()
        for job in self._jobs(AUDITING):
            if self._retry_at.get(job.task_id, 0) > now:
                continue
            try:
                return self._audit_step(job)
            except _NotYet:
                continue
            except UnverifiableResult as e:
                self._update(job.task_id, state=UNVERIFIABLE, outcome=e.message)
                self._emit(Kind.NOTICE, f"cannot audit: {e.message} (so no challenge is possible)", job.task_id,
                           {"state": UNVERIFIABLE})
                return True
            except (StorageError, ReplayFailed) as e:
                self._retry_at[job.task_id] = now + RETRY_S
                self._emit(Kind.LOG, f"audit paused, retrying in {RETRY_S:.0f} s: {e.message}", job.task_id)
                return True
        return False

    def _audit_step(self, job: Any) -> bool:
        task_id, audit = job.task_id, dict(job.detail["audit"])
        task = self.market.get_task(task_id)
        if task.status != TaskStatus.SUBMITTED or "0x" + task.merkle_root.hex() != audit["root"]:
            self._update(task_id, state=MISSED, outcome=f"the task is {task.status.name.lower()} now")
            return True
        if self._now() > task.deadline:
            self._update(task_id, state=MISSED, outcome="the challenge window closed before the audit ended")
            self._emit(Kind.LOG, "challenge window closed before the audit ended", task_id)
            return True
        commitment = Commitment(task_id, task.merkle_root, task.num_leaves, audit["result_uri"], self._spec_hash(task_id))
        result = fetch_result(self.store, commitment)
        if result.segments < 1:
            raise UnverifiableResult("a result of one checkpoint has no segment to replay or challenge")
        if audit["samples"] is None:
            audit["samples"], audit["plan"] = self._sample(task, audit, result)
            self._update(task_id, spec_sha256=commitment.spec_hash.hex(), name=result.checked.spec.name,
                         steps=result.checked.spec.steps, reward=task.reward, stake=task.worker_stake,
                         audit=audit)
            self._emit(Kind.JOB, f"sampling {audit['plan']}: segments {audit['samples']}", task_id,
                       {"state": AUDITING, "samples": audit["samples"]})
            return True
        todo = [i for i in audit["samples"] if str(i) not in audit["checked"]]
        if not todo:
            self._update(task_id, state=PASSED, outcome="honest", finished_at=time.time())
            self._emit(Kind.JOB, f"all {len(audit['samples'])} sampled segments replayed right: not challenged",
                       task_id, {"state": PASSED})
            return True
        check = check_segment(result, todo[0], self.store, self.work_dir, device=self.config.device,
                              timeout_s=self.config.replay_timeout_s, in_process=self.config.replay_in_process)
        audit["checked"][str(check.segment)] = check.verdict.value
        self._update(task_id, audit=audit, steps_done=len(audit["checked"]))
        self._emit(Kind.JOB, f"segment {check.segment}: {check.verdict.value}: {check.detail}", task_id,
                   {"state": AUDITING, "segment": check.segment, "verdict": check.verdict.value})
        if not check.verdict.worker_honest:
            self._challenge(result, check)
        return True

    def _sample(self, task: Any, audit: dict[str, Any], result: Result) -> tuple[list[int], str]:
        seed_block = audit["commit_block"] + 1
        block = self._block(seed_block)
        try:
            plan = plan_samples(result.segments, task.reward, task.worker_stake, detection=self.config.detection,
                                faked_fraction=self.config.faked_fraction, fixed=self.config.samples)
        except AuditError as e:
            raise VerifierOptionError(e.message, hint=e.hint) from None
        seed = audit_seed(bytes(block["hash"]), task.task_id, self.address)
        return sample_segments(seed, result.segments, plan.k), plan.describe()

    def _block(self, number: int) -> Any:
        """Block ``number``, waiting for it (on a devnet with ``mine_for_seed``: mining it)."""
        while True:
            with translated("eth_blockNumber"):
                head = self.market.w3.eth.block_number
            if head >= number:
                with translated("eth_getBlockByNumber"):
                    return self.market.w3.eth.get_block(number)
            if not self.config.mine_for_seed:
                raise _NotYet(f"waiting for block {number}, whose hash seeds the samples")
            mine(self.market.w3, number - head)

    def _challenge(self, result: Result, check: SegmentCheck) -> None:
        task_id = result.commitment.task_id
        bond = self.market.challenge_bond(task_id)
        challenge = {"segment": check.segment, "verdict": check.verdict.value, "reason": check.detail, "bond": bond}
        self._update(task_id, state=CHALLENGED, outcome=check.detail, challenge=challenge)
        call = self.market.challenge(task_id, check.segment, check.leaf_a, check.proof_a, check.leaf_b,
                                     check.proof_b, bond=bond)
        try:
            receipt = self._send(call, task_id, "challenge")
        except ContractRevert as e:
            self._update(task_id, state=MISSED, outcome=f"challenge refused: {e.reason}")
            self._emit(Kind.LOG, f"challenge refused by the market: {e.reason}", task_id)
            return
        dispute = self.market.get_dispute(task_id)
        challenge["dispute_id"] = self.market.get_task(task_id).dispute_id
        self._update(task_id, challenge=challenge)
        self._cursor.disputes.add(task_id)
        self._cursor.save()
        self.history.add_ledger(self.chain_id, self.market.address, task_id, "bond", bond, tx_hash=_hash(receipt))
        self._emit(Kind.NOTICE, f"challenged segment {check.segment} with a bond of {_eth(bond)}: {check.detail}",
                   task_id, {"state": CHALLENGED, "tx_hash": _hash(receipt), "draw_block": dispute.draw_block if dispute else None})

    # ------------------------------------------------------------ disputes and juries

    def _draw_juries(self) -> bool:
        busy = False
        for task_id in sorted(self._cursor.disputes):
            dispute = self.market.get_dispute(task_id)
            task = self.market.get_task(task_id)
            if dispute is None or task.status != TaskStatus.CHALLENGED:
                self._cursor.disputes.discard(task_id)
                self._cursor.save()
                continue
            if dispute.commit_deadline != 0:
                continue
            with translated("eth_blockNumber"):
                head = self.market.w3.eth.block_number
            if head <= dispute.draw_block:
                if self.config.mine_for_seed:
                    mine(self.market.w3, dispute.draw_block + 1 - head)
                else:
                    continue
            try:
                self._send(self.market.draw_jury(task_id), task_id, "drawJury")
            except ContractRevert as e:
                if e.reason not in ("jury drawn", "not challenged"):
                    raise
                continue
            self._emit(Kind.LOG, "drew the dispute's jury", task_id)
            busy = True
        return busy

    def _on_drawn(self, event: JuryDrawn) -> None:
        job = self._job(event.task_id)
        detail = dict(job.detail) if job is not None else {}
        if detail.get("jury", {}).get("dispute_id") == event.dispute_id:
            return
        detail["jury"] = {"dispute_id": event.dispute_id, "commit_deadline": event.commit_deadline,
                          "reveal_deadline": event.reveal_deadline, "vote": None, "salt": None}
        self.history.upsert_job(self.chain_id, self.market.address, event.task_id, ROLE, state=JUROR,
                                detail=detail)
        self._cursor.disputes.add(event.task_id)
        self._cursor.save()
        self._emit(Kind.NOTICE, f"drawn as a juror (dispute {event.dispute_id}); votes until "
                                f"{time.strftime('%H:%M:%S', time.gmtime(event.commit_deadline))} UTC",
                   event.task_id, {"state": JUROR})

    def _jury_duties(self) -> bool:
        busy = False
        now = self._now()
        for job in self._jobs(JUROR):
            jury = dict(job.detail["jury"])
            dispute = self.market.get_dispute(job.task_id)
            task = self.market.get_task(job.task_id)
            if task.status != TaskStatus.CHALLENGED or task.dispute_id != jury["dispute_id"]:
                continue  # resolved: DisputeResolved settles the job
            vote = self.market.vote_of(job.task_id, self.address)
            if now <= dispute.commit_deadline and vote.commitment == bytes(32):
                if self._retry_at.get(job.task_id, 0) > time.time():
                    continue
                try:
                    busy |= self._commit_vote(job.task_id, jury, dispute)
                except (StorageError, ReplayFailed) as e:
                    self._retry_at[job.task_id] = time.time() + RETRY_S
                    self._emit(Kind.LOG, f"cannot judge the dispute yet, retrying: {e.message}", job.task_id)
            elif dispute.commit_deadline < now <= dispute.reveal_deadline and vote.commitment != bytes(32) \
                    and vote.reveal == 0 and self._retry_at.get(job.task_id, 0) <= time.time():
                busy |= self._reveal_vote(job.task_id, jury, vote.commitment)
        return busy

    def _commit_vote(self, task_id: int, jury: dict[str, Any], dispute: Any) -> bool:
        if jury.get("salt") is None:
            honest, why = self._judge(task_id, dispute.segment)
            jury.update(vote=honest, why=why, salt="0x" + os.urandom(32).hex())
            self._update(task_id, jury=jury)  # the salt is on disk before the commitment leaves
        salt = bytes.fromhex(jury["salt"][2:])
        commitment = vote_commitment(jury["vote"], salt, self.address)
        receipt = self._send(self.market.commit_vote(task_id, commitment), task_id, "commitVote")
        self._emit(Kind.JOB, f"committed a vote on segment {dispute.segment} (worker "
                             f"{'honest' if jury['vote'] else 'cheated'}: {jury['why']})",
                   task_id, {"state": JUROR, "tx_hash": _hash(receipt)})
        return True

    def _judge(self, task_id: int, segment: int) -> tuple[bool, str]:
        """Replay the disputed segment: True when the worker's commitment holds."""
        task = self.market.get_task(task_id)
        try:
            commitment = Commitment(task_id, task.merkle_root, task.num_leaves, self._result_uri(task_id),
                                    self._spec_hash(task_id))
            result = fetch_result(self.store, commitment)
        except UnverifiableResult as e:
            return False, e.message
        if not 0 <= segment < result.segments:
            return False, f"segment {segment} is outside the result"
        try:
            check = check_segment(result, segment, self.store, self.work_dir, device=self.config.device,
                                  timeout_s=self.config.replay_timeout_s, in_process=self.config.replay_in_process)
        except WrongDevice as e:  # not the worker's fault: no vote either way (the contract fines a juror who
            raise ReplayFailed(e.message, hint=e.hint) from None  # does not reveal; see the README's caveat)
        return check.verdict is Verdict.HONEST, f"{check.verdict.value}: {check.detail}"

    def _reveal_vote(self, task_id: int, jury: dict[str, Any], commitment: bytes) -> bool:
        salt = bytes.fromhex(jury["salt"][2:]) if jury.get("salt") else None
        if salt is None or vote_commitment(jury["vote"], salt, self.address) != commitment:
            self._retry_at[task_id] = float("inf")  # said once; nothing will change that
            self._emit(Kind.ERROR, "cannot reveal: the vote and salt kept in the history do not open the "
                                   "committed vote (was the history replaced?)", task_id,
                       {"hint": "the market will take the non-reveal penalty from the stake"})
            return False
        receipt = self._send(self.market.reveal_vote(task_id, jury["vote"], salt), task_id, "revealVote")
        self._emit(Kind.JOB, f"revealed the vote: worker {'honest' if jury['vote'] else 'cheated'}", task_id,
                   {"state": JUROR, "tx_hash": _hash(receipt)})
        return True

    def _resolve_due(self) -> bool:
        busy = False
        now = self._now()
        for task_id in sorted(self._cursor.disputes):
            dispute = self.market.get_dispute(task_id)
            if dispute is None or dispute.commit_deadline == 0 or now <= dispute.reveal_deadline:
                continue
            if self.market.get_task(task_id).status != TaskStatus.CHALLENGED:
                continue
            try:
                self._send(self.market.resolve(task_id), task_id, "resolve")
            except ContractRevert as e:
                if e.reason != "not challenged":
                    raise
                continue
            self._emit(Kind.LOG, "resolved the dispute", task_id)
            busy = True
        return busy

    def _on_resolved(self, event: DisputeResolved) -> None:
        self._cursor.disputes.discard(event.task_id)
        self._cursor.save()
        job = self._job(event.task_id)
        if job is None:
            return
        outcome = "worker honest" if event.worker_won else "worker cheated"
        votes = f"{event.honest_votes} honest, {event.cheat_votes} cheated"
        challenge = job.detail.get("challenge") or {}
        if challenge.get("dispute_id") == event.dispute_id:
            self._settle_challenge(event, challenge, outcome, votes)
        jury = job.detail.get("jury") or {}
        if jury.get("dispute_id") == event.dispute_id:
            self._settle_jury(event, jury, outcome, votes)

    def _settle_challenge(self, event: DisputeResolved, challenge: dict[str, Any], outcome: str, votes: str) -> None:
        bond = challenge["bond"]
        if event.worker_won:
            self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "slashed", bond, tx_hash=event.tx_hash)
            self._update(event.task_id, state=RESOLVED, outcome=f"challenge lost ({votes})", finished_at=time.time())
            self._emit(Kind.NOTICE, f"challenge lost ({votes}): bond of {_eth(bond)} slashed", event.task_id,
                       {"state": RESOLVED})
            return
        payout = event.slashed + self._penalties.pop(event.tx_hash, 0) - event.juror_share * event.cheat_votes
        self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "bond_returned", bond, tx_hash=event.tx_hash)
        self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "reward", payout, tx_hash=event.tx_hash)
        self._update(event.task_id, state=RESOLVED, outcome=f"challenge won ({votes})", finished_at=time.time())
        self._emit(Kind.NOTICE, f"challenge won ({votes}): bond back and {_eth(payout)} of the worker's stake",
                   event.task_id, {"state": RESOLVED})

    def _settle_jury(self, event: DisputeResolved, jury: dict[str, Any], outcome: str, votes: str) -> None:
        reveal = self.market.vote_of(event.task_id, self.address).reveal
        with_majority = reveal != 0 and (reveal == 1) == event.worker_won
        if with_majority and event.juror_share > 0:
            self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "juror_reward",
                                    event.juror_share, tx_hash=event.tx_hash)
        earned = f"earned {_eth(event.juror_share)}" if with_majority else "earned nothing"
        self._update(event.task_id, state=RESOLVED, outcome=f"jury: {outcome} ({votes})", finished_at=time.time())
        self._emit(Kind.NOTICE, f"dispute resolved: {outcome} ({votes}); as a juror {earned}", event.task_id,
                   {"state": RESOLVED})

    # ------------------------------------------------------------ chain writes

    def _send(self, call: ContractCall, task_id: int | None, action: str) -> TxReceipt:
        """Journal, sign, send and wait (:class:`engine.roles.txjournal.TxJournal`), then record the
        gas. A crash leaves the journal entry open, and :meth:`_reconcile` finishes the very
        same signed transaction."""
        key = self._journal.key("-" if task_id is None else task_id, action)
        done = self._journal.send(key, action, call, task_id=task_id)
        self._record_gas(task_id, action, done.receipt)
        return done.receipt

    def _record_gas(self, task_id: int | None, action: str, receipt: TxReceipt) -> None:
        gas = gas_paid(receipt)
        if task_id is None:
            self.history.add_ledger(self.chain_id, self.market.address, None, "gas", gas, tx_hash=_hash(receipt))
            return
        if self._job(task_id) is None:
            self.history.upsert_job(self.chain_id, self.market.address, task_id, ROLE, state="watching")
        self.history.record_tx(self.chain_id, self.market.address, task_id, ROLE, action, _hash(receipt), gas)

    def _reconcile(self) -> bool:
        """Finish the journaled transactions of this account left open by a crash; what they
        did is then read back from the chain like anything else."""
        busy = False
        for entry in self._journal.open_entries():
            task_id = entry.payload.get("task_id")
            try:
                done = self._journal.reconcile(entry)
            except (ContractRevert, NonceConsumed) as e:
                self._emit(Kind.LOG, f"journaled {entry.action} did not go through: {e.message}", task_id)
                continue
            if done is None:
                continue
            self._record_gas(task_id, entry.action, done.receipt)
            self._emit(Kind.LOG, f"journaled {entry.action} settled after a restart ({done.tx_hash})", task_id)
            busy = True
        return busy

    # ------------------------------------------------------------ chain reads

    def _spec_hash(self, task_id: int) -> bytes:
        job = self._job(task_id)
        if job is not None and job.spec_sha256:
            return bytes.fromhex(job.spec_sha256)
        logs = self._logs("TaskPosted", task_id)
        if not logs:
            raise UnverifiableResult(f"task {task_id} has no TaskPosted event from block {self.config.start_block or 0}",
                                hint="start the verifier with an earlier start block")
        return bytes(logs[-1]["args"]["specHash"])

    def _result_uri(self, task_id: int) -> str:
        job = self._job(task_id)
        audit = (job.detail.get("audit") or {}) if job is not None else {}
        root = "0x" + self.market.get_task(task_id).merkle_root.hex()
        if audit.get("root") == root:
            return audit["result_uri"]
        logs = [log for log in self._logs("ResultSubmitted", task_id) if "0x" + bytes(log["args"]["merkleRoot"]).hex() == root]
        if not logs:
            raise UnverifiableResult(f"task {task_id}: no ResultSubmitted event for its committed root")
        return logs[-1]["args"]["resultURI"]

    def _logs(self, event: str, task_id: int) -> list[Any]:
        with translated("eth_getLogs"):
            return list(self.market.contract.events[event]().get_logs(
                argument_filters={"taskId": task_id}, from_block=self.config.start_block or 0))

    def _now(self) -> int:
        with translated("eth_getBlockByNumber"):
            return int(self.market.w3.eth.get_block("latest")["timestamp"])

    # ------------------------------------------------------------ history

    def _job(self, task_id: int) -> Any:
        return self.history.job(self.chain_id, self.market.address, task_id, ROLE)

    def _jobs(self, state: str) -> list[Any]:
        return [j for j in self.history.jobs(role=ROLE, state=state)
                if j.chain_id == self.chain_id and j.market == self.market.address]

    def _update(self, task_id: int, *, audit: dict | None = None, challenge: dict | None = None,
                jury: dict | None = None, **fields: Any) -> None:
        job = self._job(task_id)
        detail = dict(job.detail) if job is not None else {}
        for name, part in (("audit", audit), ("challenge", challenge), ("jury", jury)):
            if part is not None:
                detail[name] = part
        self.history.upsert_job(self.chain_id, self.market.address, task_id, ROLE, detail=detail, **fields)

    def _emit(self, kind: Kind, message: str, task_id: int | None = None, data: dict[str, Any] | None = None) -> None:
        self.listener(EngineEvent(kind, message, task_id, data or {}))


class _NotYet(ChainError):
    """A block the verifier needs is not mined yet; the loop tries again later."""


def _eth(wei: int) -> str:
    return f"{wei / 10**18:g} ETH"


def _hash(receipt: TxReceipt) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def _network(devnet: bool) -> Any:
    """The [network] settings, or with ``devnet`` the local devnet's deployment and blob server."""
    from engine.chain.devnet import Deployment, deployment_file, network_settings
    from engine.chain.settings import load_network
    from engine.storage import DEFAULT_URL

    if not devnet:
        return network_settings()
    deployment = Deployment.load(deployment_file())
    if deployment is None:
        raise VerifierError(f"no local devnet is deployed ({deployment_file()} is missing)",
                            hint="start one with `idlegrid devnet`, then run this again")
    return load_network().model_copy(update={
        "rpc_url": deployment.rpc_url, "market_address": deployment.market_address,
        "chain_id": deployment.chain_id, "confirmations": 0,
        "blob_url": load_network().blob_url or DEFAULT_URL})


def _signer(chain_id: int | None, dev_account: int | None, passphrase: Any) -> Any:
    """The wallet's signer, or anvil's public test key ``dev_account`` (devnet chains only)."""
    from engine.chain.anvil import DEV_CHAIN_ID
    from engine.chain.devnet import DEV_KEYS

    if dev_account is None:
        from engine.wallet import load_signer

        return load_signer(passphrase, chain_id=chain_id)
    if chain_id != DEV_CHAIN_ID:
        raise VerifierOptionError(f"--dev-account signs with a public test key, refused on chain {chain_id}",
                            hint="use --devnet, or sign with your wallet (leave out --dev-account)")
    if not 0 <= dev_account < len(DEV_KEYS):
        raise VerifierOptionError(f"--dev-account {dev_account}: anvil's test accounts are 0..{len(DEV_KEYS) - 1}",
                            hint="for example --dev-account 2")
    from eth_account import Account

    return Account.from_key(DEV_KEYS[dev_account])
