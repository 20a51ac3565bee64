"""The requester: post a training task with its reward escrowed, follow it, fetch its result.

A task goes on chain as ``specHash`` = sha256 of the spec's canonical JSON, which is also the
spec's blob address (see :mod:`engine.roles.results`), so posting is: validate the spec, upload it
(and the dataset blob it names), then ``postTask`` with the reward as the value. The result
is only trusted after two checks that need nobody's good faith: the manifest's leaf hashes
must rebuild the Merkle root the worker committed on chain, and the downloaded final
checkpoint must hash to the manifest's last leaf.

Torch-free: this runs inside the GUI process too (the checkpoint is hashed with numpy).
"""


from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from web3.types import TxReceipt

from engine.chain.errors import ContractRevert
from engine.chain.market import ContractCall, E, ResultSubmitted, Task, TaskMarket, TaskPosted, TaskStatus
from engine.chain.market_v2 import TaskMarketV2, arithmetic_id, payment_for
from engine.chain.records_v2 import AuditClosed, MarketParamsV2, TaskStatusV2, TaskV2
from engine.chain.records_v2 import ResultSubmitted as ResultSubmittedV2
from engine.chain.records_v2 import TaskPosted as TaskPostedV2
from engine.events import EngineEvent, Kind, Listener, ignore
from engine.history.ledger import LedgerKind
from engine.roles.results import ResultManifest, blob_uri, parse_blob_uri
from engine.roles.txjournal import TxJournal, gas_paid
from engine.tasks import spec as s
from engine.tasks.load import canonical_json, load_spec

if TYPE_CHECKING:
    from engine.history import History
    from engine.storage import BlobStore, LocalStore
from engine.history.records import JobRecord
from engine.requester.errors import (
    AmountError,
    AuditOpen,
    DatasetMismatch,
    DatasetMissing,
    NoResultYet,
    NotCancellable,
    NotYourTask,
    RequesterError,
    ResultInvalid,
    UnknownTask,
    format_utc,
)
from engine.requester.result_check import check_manifest, download_final_checkpoint, write_json
from engine.requester.terms import (
    DEFAULT_CLAIM_TIMEOUT,
    DEFAULT_WINDOW,
    LOG_RANGE,
    MANIFEST_MAX_BYTES,
    MAX_AMOUNT,
    ROLE,
    STAKE_DIVISOR,
    ZERO_ADDRESS,
    check_timeout,
    default_train_timeout,
)
from engine.requester.views import DisputeView, TaskView
from engine.units import format_eth


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _tx_hash(receipt: TxReceipt) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def _root_hex(root: bytes) -> str | None:
    return None if root == bytes(32) else "0x" + root.hex()


class Requester:
    """Posts tasks for the market's signer and follows them; records everything in history."""

    def __init__(self, market: TaskMarket | TaskMarketV2, store: BlobStore, history: History, *,
                 listener: Listener = ignore, local: LocalStore | None = None) -> None:
        self.market = market
        self.store = store
        self.history = history
        self.listener = listener
        self.local = local
        self.chain_id = market.sender_or_fail().chain_id
        self.address = market.sender_or_fail().address
        self.journal = TxJournal(history, market, role=ROLE)
        self._params_v2: MarketParamsV2 | None = None

    # ------------------------------------------------------------ post

    def post(self, spec_path: Path, *, reward: int, stake: int | None = None, window: int | None = None,
             claim_timeout: int | None = None, train_timeout: int | None = None,
             data: Path | None = None) -> int:
        """Validate, upload and post ``spec_path`` with ``reward`` wei escrowed; the task id."""
        checked = load_spec(spec_path)
        stake = max(reward // STAKE_DIVISOR, 1) if stake is None else stake
        terms = {
            "claim_timeout": check_timeout(_or(claim_timeout, DEFAULT_CLAIM_TIMEOUT), "--claim-timeout"),
            "train_timeout": check_timeout(_or(train_timeout, default_train_timeout(checked.spec)), "--train-timeout"),
            "challenge_window": check_timeout(_or(window, DEFAULT_WINDOW), "--window"),
        }
        for value, what in ((reward, "reward"), (stake, "stake")):
            if not 0 < value <= MAX_AMOUNT:
                raise AmountError(f"{what} {value} wei is out of range (1 to {MAX_AMOUNT} wei)")
        self._upload_dataset(checked.spec.dataset, data)
        spec_sha = self.store.put_bytes(canonical_json(checked.spec))
        if spec_sha != checked.sha256:
            raise RequesterError(f"the blob store filed the spec under {spec_sha}, not its sha256 {checked.sha256}")
        spec_hash, uri = bytes.fromhex(spec_sha), blob_uri(spec_sha)
        if isinstance(self.market, TaskMarketV2):
            # v2: the payment is the reward plus the verification fee; an exact-mode spec names its arithmetic
            payment = payment_for(reward, self._params().audit_fee_bps)
            verification = checked.spec.verification
            arithmetic = arithmetic_id(verification.arithmetic if isinstance(verification, s.ExactVerification)
                                       else None)
            call = self.market.post_task(spec_hash, uri, payment=payment, worker_stake=stake,
                                         arithmetic=arithmetic, **terms)
        else:
            payment = reward
            call = self.market.post_task(spec_hash, uri, reward=reward, worker_stake=stake, **terms)
        self._check_funds(payment)
        receipt = self._send(call, f"new-{uuid.uuid4().hex[:16]}", "post")
        (posted,) = [e for e in self.market.events_in(receipt) if isinstance(e, TaskPosted | TaskPostedV2)]
        self._record_post(posted, receipt, checked.spec)
        return posted.task_id

    def _upload_dataset(self, dataset: Any, data: Path | None) -> None:
        if not isinstance(dataset, s.BlobData):
            if data is not None:
                raise DatasetMismatch(
                    f"--data {data} was given, but the spec's dataset is {dataset.kind!r}, not a blob",
                    hint="leave --data out for this spec",
                )
            return
        if data is not None:
            self._check_dataset_file(data, dataset)
            if not self.store.has(dataset.sha256):  # an upload does not ask first: a dataset is large
                self.store.put_file(data)
            return
        if self.store.has(dataset.sha256):
            return
        if self.local is not None and self.local.has(dataset.sha256):
            path = self.local.path(dataset.sha256)
            self._check_dataset_file(path, dataset)
            self.store.put_file(path)
            return
        raise DatasetMissing(
            f"the spec's dataset blob {dataset.sha256} ({dataset.size:,} bytes) is not in the local blob store",
            hint="give its file with --data FILE (it is uploaded after its sha256 and size are checked)")

    @staticmethod
    def _check_dataset_file(path: Path, dataset: s.BlobData) -> None:
        try:
            size = path.stat().st_size
            digest = hashlib.sha256()
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as e:
            raise DatasetMissing(f"cannot read --data {path}: {e.strerror}",
                                 hint="give the dataset's safetensors file") from None
        if digest.hexdigest() != dataset.sha256:
            raise DatasetMismatch(
                f"--data {path} has sha256 {digest.hexdigest()}, but the spec's dataset.sha256 is {dataset.sha256}",
                hint="give the file the spec was written for, or fix dataset.sha256 and dataset.size in the spec")
        if size != dataset.size:
            raise DatasetMismatch(f"--data {path} is {size:,} bytes, but the spec's dataset.size is {dataset.size:,}",
                                  hint="fix dataset.size in the spec")

    def _check_funds(self, payment: int) -> None:
        """The wallet covers the payment (v2: the reward plus the verification fee); said in words
        before anything is signed. (What else the contract would refuse, gas estimation finds when
        the post is prepared, with the contract's reason: a separate simulation first cost a
        coordinator an eth_call per candidate.)"""
        balance = self.market.balance(self.address)
        if balance < payment:
            what = "reward" if isinstance(self.market, TaskMarket) else "payment (reward and verification fee)"
            raise RequesterError(
                f"your wallet {self.address} holds {format_eth(balance)} ETH, "
                f"less than the {what} of {format_eth(payment)} ETH",
                hint="fund the wallet (on the devnet: `idlegrid devnet --fund ADDRESS`), or lower --reward",
            )

    def _record_post(self, posted: TaskPosted | TaskPostedV2, receipt: TxReceipt, spec: s.TaskSpec | None) -> None:
        """The requester's job row, the post's gas and the escrowed payment in the ledger (v2's
        ``reward`` is the whole payment, the verification fee included)."""
        claim_deadline = (posted.claim_deadline if isinstance(posted, TaskPosted)
                          else self._v2().event_deadline(posted))
        self.history.upsert_job(
            self.chain_id, self.market.address, posted.task_id, ROLE,
            name=spec.name if spec else None, spec_sha256=posted.spec_hash.hex(), state="open",
            steps=spec.steps if spec else None, reward=posted.reward, stake=posted.worker_stake,
            created_at=time.time(),
            detail={"requester": self.address, "posted_block": posted.block_number,
                    "claim_deadline": claim_deadline},
        )
        self._record_tx(posted.task_id, "post", receipt)
        self.history.add_ledger(self.chain_id, self.market.address, posted.task_id, "escrow",
                                posted.reward, tx_hash=_tx_hash(receipt))
        name = spec.name if spec else "recovered"
        self._emit(Kind.JOB, f"posted task {posted.task_id} ({name}) with {format_eth(posted.reward)} ETH",
                   posted.task_id, state="open", tx_hash=_tx_hash(receipt))

    # ------------------------------------------------------------ status

    def status(self, task_id: int | None = None) -> list[TaskView]:
        """One task in detail, or every task this wallet posted on this market (newest first)."""
        if task_id is not None:
            return [self._view(task_id)]
        ids = sorted({job.task_id for job in self._my_jobs()}, reverse=True)
        return [self._view(i) for i in ids]

    def _my_jobs(self) -> list[JobRecord]:
        return [job for job in self.history.jobs(role=ROLE, limit=100_000)
                if job.chain_id == self.chain_id and job.market.lower() == self.market.address.lower()
                and (job.detail or {}).get("requester", "").lower() == self.address.lower()]

    def task(self, task_id: int) -> Task | TaskV2:
        """The on-chain task, or :class:`UnknownTask` (the contract refuses an id it never gave
        out with "no task", so the count is read only to say so)."""
        if not isinstance(task_id, int) or isinstance(task_id, bool) or task_id < 1:
            raise UnknownTask(task_id, self.market.task_count())
        try:
            return self.market.get_task(task_id)
        except ContractRevert as e:
            if e.reason == "no task":
                raise UnknownTask(task_id, self.market.task_count()) from None
            raise

    def _view(self, task_id: int) -> TaskView:
        task = self.task(task_id)
        job = self.history.job(self.chain_id, self.market.address, task_id, ROLE)
        self._sync_job(task, job)
        return TaskView(
            task_id=task_id, name=job.name if job else None,
            spec_sha256=job.spec_sha256 if job else self._spec_sha(task_id),
            state=task.status.name.lower(), requester=task.requester, reward=task.reward,
            stake=task.worker_stake, worker=None if task.worker == ZERO_ADDRESS else task.worker,
            deadline=task.deadline, merkle_root=_root_hex(task.merkle_root), num_leaves=task.num_leaves,
            claim_timeout=task.claim_timeout, train_timeout=task.train_timeout,
            challenge_window=task.challenge_window,
            dispute=self._dispute_view(task) if task.dispute_id else None,
        )

    def _dispute_view(self, task: Task | TaskV2) -> DisputeView | None:
        """The task's latest dispute (v1 addresses it by task, v2 by dispute id)."""
        if isinstance(self.market, TaskMarketV2):
            d2 = self.market.get_dispute(task.dispute_id)
            return None if d2 is None else DisputeView(
                d2.challenger, d2.segment, d2.bond, d2.commit_deadline, d2.reveal_deadline, d2.honest_votes,
                d2.cheat_votes, self.market.jury(d2.dispute_id))
        d1 = self.market.get_dispute(task.task_id)
        return None if d1 is None else DisputeView(
            d1.challenger, d1.segment, d1.bond, d1.commit_deadline, d1.reveal_deadline, d1.honest_votes,
            d1.cheat_votes, d1.jury)

    def _sync_job(self, task: Task | TaskV2, job: JobRecord | None) -> None:
        """Keep the history row's state in step with the chain (the app's history view reads it)."""
        state = task.status.name.lower()
        if job is None or job.state == state:
            return
        fields: dict[str, Any] = {"state": state, "merkle_root": _root_hex(task.merkle_root)}
        if task.status in (TaskStatus.FINALIZED, TaskStatus.CANCELLED):
            fields["finished_at"] = time.time()
            fields["outcome"] = "completed" if task.status == TaskStatus.FINALIZED else "cancelled"
        self.history.upsert_job(self.chain_id, self.market.address, task.task_id, ROLE, **fields)

    def _spec_sha(self, task_id: int, from_block: int = 0) -> str | None:
        posted: list[TaskPosted] | list[TaskPostedV2] = (
            self._events(TaskPostedV2, task_id, from_block=from_block) if isinstance(self.market, TaskMarketV2)
            else self._events(TaskPosted, task_id, from_block=from_block))
        return posted[-1].spec_hash.hex() if posted else None

    def _events(self, cls: type[E], task_id: int, *, from_block: int) -> list[E]:
        return self.market.task_events(cls, task_id, from_block=from_block, max_range=LOG_RANGE)

    # ------------------------------------------------------------ results

    def results(self, task_id: int, out: Path) -> Path:
        """Download and check the result; writes the final checkpoint and metrics.json into ``out``."""
        task = self.task(task_id)
        if task.status in (TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.CANCELLED):
            raise NoResultYet(task_id, task.status)
        job = self.history.job(self.chain_id, self.market.address, task_id, ROLE)
        start = int((job.detail or {}).get("posted_block", 0)) if job else 0
        manifest = self._manifest(task, start, job.spec_sha256 if job else None)
        ckpt = download_final_checkpoint(self.store, manifest, out)
        final = manifest.leaves[-1]
        metrics = {
            "task_id": task_id, "state": task.status.name.lower(), "spec_sha256": manifest.spec_sha256,
            "merkle_root": manifest.merkle_root, "steps": manifest.steps, "final_loss": manifest.final_loss,
            "metrics": manifest.metrics, "checkpoint": ckpt.name, "leaf_hash": final.leaf_hash,
            "worker": task.worker,
        }
        write_json(out / "metrics.json", metrics)
        write_json(out / "manifest.json", manifest.to_json())
        self.history.upsert_job(self.chain_id, self.market.address, task_id, ROLE,
                                loss=manifest.final_loss, metrics=dict(manifest.metrics),
                                merkle_root=manifest.merkle_root)
        return out

    def _manifest(self, task: Task | TaskV2, from_block: int, posted_spec: str | None = None) -> ResultManifest:
        """The result manifest the task's ResultSubmitted names, checked against the chain and
        against ``posted_spec`` (what this requester posted, from its own history; read from the
        TaskPosted event when it is not known)."""
        task_id = task.task_id
        root = "0x" + task.merkle_root.hex()
        events: list[ResultSubmitted] | list[ResultSubmittedV2] = (
            self._events(ResultSubmittedV2, task_id, from_block=from_block) if isinstance(self.market, TaskMarketV2)
            else self._events(ResultSubmitted, task_id, from_block=from_block))
        submitted = [e for e in events if e.merkle_root == task.merkle_root]
        if not submitted:
            raise ResultInvalid(f"task {task_id}: no ResultSubmitted event carries its on-chain root {root}")
        manifest = ResultManifest.from_bytes(
            self.store.get_bytes(parse_blob_uri(submitted[-1].result_uri), max_size=MANIFEST_MAX_BYTES))
        check_manifest(manifest, task, posted_spec if posted_spec is not None else self._spec_sha(task_id, from_block))
        return manifest

    # ------------------------------------------------------------ cancel / withdraw

    def cancel(self, task_id: int) -> str:
        """Cancel an open task (or one whose claim expired); the reward is credited back. The tx hash."""
        task = self.task(task_id)
        if task.requester.lower() != self.address.lower():
            raise NotYourTask(task_id, task.requester, self.address)
        now = self._now()
        if task.status == TaskStatus.CLAIMED and now > task.deadline:
            receipt = self._send(self.market.expire_claim(task_id), str(task_id), "expire", task_id)
            self.history.add_ledger(self.chain_id, self.market.address, task_id, "stake_forfeited",
                                    task.worker_stake, tx_hash=_tx_hash(receipt))
            task = self.market.get_task(task_id)
        if task.status != TaskStatus.OPEN:
            raise NotCancellable(task_id, task, now)
        receipt = self._send(self.market.cancel_task(task_id), str(task_id), "cancel", task_id)
        tx = _tx_hash(receipt)
        self.history.add_ledger(self.chain_id, self.market.address, task_id, "refund", task.reward, tx_hash=tx)
        self.history.upsert_job(self.chain_id, self.market.address, task_id, ROLE, state="cancelled",
                                outcome="cancelled", finished_at=time.time())
        self._emit(Kind.JOB, f"cancelled task {task_id}; {format_eth(task.reward)} ETH credited back",
                   task_id, state="cancelled", tx_hash=tx)
        return tx

    def close_audit(self, task_id: int) -> tuple[int, str]:
        """v2: once a final result's audit is over (revealPeriod after its window), the fee no
        auditor earned comes back as a credit: (amount, tx hash). ``withdraw`` then pays it out.

        Idempotent: an audit already closed (by this requester before a crash, or by anyone:
        the call is open to all) is not closed again; its ``AuditClosed`` event is booked instead,
        once (the ledger counts a transaction once). :class:`AuditOpen` while it cannot close."""
        market = self._v2()
        task = self.task(task_id)
        if task.requester.lower() != self.address.lower():
            raise NotYourTask(task_id, task.requester, self.address)
        reveal_period = self._params().reveal_period
        if task.status == TaskStatusV2.CANCELLED:
            raise RequesterError(f"task {task_id} was cancelled: its whole payment, the fee included, came back then",
                                 hint="nothing to close")
        if task.status != TaskStatusV2.FINALIZED:
            raise AuditOpen(f"task {task_id} is {task.status.name.lower()}: only a finalized task's audit closes",
                            hint=f"`idlegrid requester status {task_id}` shows where it stands",
                            closes_after=task.deadline + reveal_period
                            if task.status == TaskStatusV2.SUBMITTED else None)
        closes_after = task.deadline + reveal_period
        now = self._now()        # the latest block's time: what the contract (and the gas estimate) reads
        if now <= closes_after:
            raise AuditOpen(f"task {task_id}'s auditors may reveal until {format_utc(closes_after)} "
                            f"({closes_after - now} s from now)",
                            hint="close the audit after that: the fee they did not earn comes back then",
                            closes_after=closes_after)
        if not market.get_audit(task_id).closed:
            try:
                receipt = self._send(market.close_audit(task_id), str(task_id), "close-audit", task_id)
            except ContractRevert as e:
                if e.reason != "audit closed":      # anyone may close it: someone just did
                    raise
            else:
                (closed,) = [e for e in market.events_in(receipt) if isinstance(e, AuditClosed)]
                self._book_audit_closed(closed)
                return closed.refund, closed.tx_hash
        job = self.history.job(self.chain_id, market.address, task_id, ROLE)
        start = int((job.detail or {}).get("posted_block", 0)) if job else 0
        (closed,) = self._events(AuditClosed, task_id, from_block=start)     # a task's audit closes once
        self._book_audit_closed(closed)
        return closed.refund, closed.tx_hash

    def _book_audit_closed(self, closed: AuditClosed) -> None:
        """The fee no auditor earned, back as a ``refund`` under the close's transaction (so
        booking it again, after a crash or from the event, changes nothing)."""
        self.history.add_ledger(self.chain_id, self.market.address, closed.task_id, LedgerKind.REFUND,
                                closed.refund, tx_hash=closed.tx_hash)
        self._emit(Kind.JOB, f"closed the audit of task {closed.task_id}; "
                   f"{format_eth(closed.refund)} ETH of its fee credited back", closed.task_id,
                   tx_hash=closed.tx_hash)

    def _v2(self) -> TaskMarketV2:
        if not isinstance(self.market, TaskMarketV2):
            raise RequesterError(f"the market at {self.market.address} is TaskMarket v1, which has no "
                                 "verification fee and no audits",
                                 hint="nothing to close: a v1 task's payment is all the worker's")
        return self.market

    def _params(self) -> MarketParamsV2:
        """v2's parameters, read once: the constructor sets them and nothing changes them (14
        reads each time would be most of a post's or an audit close's requests)."""
        if self._params_v2 is None:
            self._params_v2 = self._v2().params()
        return self._params_v2

    def credits(self) -> int:
        return self.market.credits(self.address)

    def withdraw(self) -> tuple[int, str]:
        """Send every credit (refunds, forfeited stakes) to the wallet: (amount, tx hash)."""
        amount = self.credits()
        if amount == 0:
            raise RequesterError("nothing to withdraw: your wallet has no credit on this market")
        receipt = self._send(self.market.withdraw(), f"account-{self.address}", "withdraw")
        tx = _tx_hash(receipt)
        self.history.add_ledger(self.chain_id, self.market.address, None, "withdrawn", amount, tx_hash=tx)
        self.history.add_ledger(self.chain_id, self.market.address, None, "gas", gas_paid(receipt), tx_hash=tx)
        return amount, _tx_hash(receipt)

    # ------------------------------------------------------------ sending

    def _send(self, call: ContractCall, key: str, action: str, task_id: int | None = None) -> TxReceipt:
        """Journal the signed transaction before it leaves, so a crash never sends it twice."""
        receipt = self.journal.send(self.journal.key(key, action), action, call, task_id=task_id).receipt
        if task_id is not None:
            self._record_tx(task_id, action, receipt)
        return receipt

    def recover(self) -> list[int]:
        """Finish the transactions a crash left in the journal (a post's job and escrow, a
        closed audit's refund are booked as if nothing had happened); the ids of tasks they posted."""
        posted = []
        for entry in self.journal.open_entries():
            done = self.journal.reconcile(entry)
            if done is None:
                continue
            task_id = entry.payload.get("task_id")
            if task_id is not None:
                self._record_tx(task_id, entry.action, done.receipt)
            for event in self.market.events_in(done.receipt):
                if isinstance(event, AuditClosed):
                    self._book_audit_closed(event)
                if isinstance(event, TaskPosted | TaskPostedV2) and self.history.job(
                        self.chain_id, self.market.address, event.task_id, ROLE) is None:
                    self._record_post(event, done.receipt, None)
                    posted.append(event.task_id)
        return posted

    def _record_tx(self, task_id: int, action: str, receipt: TxReceipt) -> None:
        """The tx on its job, and its gas in the ledger (history.record_tx does both, once)."""
        self.history.record_tx(self.chain_id, self.market.address, task_id, ROLE, action, _tx_hash(receipt),
                               gas_paid(receipt))

    def _now(self) -> int:
        return self.market.clock.latest()

    def _emit(self, kind: Kind, message: str, task_id: int | None, **data: Any) -> None:
        self.listener(EngineEvent(kind, message, task_id=task_id, data=data))

