"""What every part of the verifier shares: its state, its job rows, chain reads and writes.

Every chain write goes through :meth:`VerifierBase._send`: journaled, signed, sent, waited
for (:class:`engine.roles.txjournal.TxJournal`), and reconciled after a restart.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from web3.types import TxReceipt

from engine.chain.contract import ContractCall, MarketClient
from engine.chain.errors import ChainError, ContractRevert, NonceConsumed
from engine.chain.records import MarketEvent
from engine.config import paths
from engine.events import EngineEvent, Kind, Listener, ignore
from engine.history import History
from engine.history.records import JobRecord
from engine.roles.txjournal import TxJournal, gas_paid
from engine.storage.store import BlobStore
from engine.verifier.evidence import UnverifiableResult
from engine.verifier.states import ROLE, VerifierConfig, VerifierError, VerifierState


@dataclass
class _Cursor:
    """What the verifier remembers between runs besides history: where it read to, and the
    disputes it watches (to draw juries and resolve them)."""

    path: Path
    next_block: int | None = None
    disputes: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> _Cursor:
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



M = TypeVar("M", bound=MarketClient)


class VerifierBase(Generic[M]):
    """The verifier's state and plumbing; the concerns are layered on it (see the package).

    Generic in the market client (v1's :class:`~engine.chain.market.TaskMarket` or
    :class:`~engine.chain.market_v2.TaskMarketV2`): what is shared reads events by name
    (``market.EVENT_TYPES``), and each version's concerns bind ``M`` to their client."""

    def __init__(self, market: M, store: BlobStore, history: History, *,
                 config: VerifierConfig | None = None, listener: Listener = ignore) -> None:
        self.market = market
        self.store = store
        self.history = history
        self.config = config or VerifierConfig()
        self.listener = listener
        self.address = market.sender_or_fail().address
        self.chain_id = market.chain_id()
        self.work_dir = self.config.work_dir or paths().cache_dir / "verifier"
        self._cursor = _Cursor.load(paths().data_dir / "verifier" /
                                    f"{self.chain_id}-{market.address}-{self.address}.json")
        self._journal = TxJournal(history, market, role=ROLE)
        self._reconciled = False
        self._registered_checked = False
        self._penalties: dict[str, int] = {}
        self._retry_at: dict[int, float] = {}


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
            self.history.add_ledger(self.chain_id, self.market.address, None, "gas", gas, tx_hash=tx_hash(receipt))
            return
        if self._job(task_id) is None:
            self.history.upsert_job(self.chain_id, self.market.address, task_id, ROLE, state=VerifierState.WATCHING)
        self.history.record_tx(self.chain_id, self.market.address, task_id, ROLE, action, tx_hash(receipt), gas)

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
        start = self.config.start_block or 0
        posted = self.market.task_events(self.market.EVENT_TYPES["TaskPosted"], task_id, from_block=start)
        if not posted:
            raise UnverifiableResult(f"task {task_id} has no TaskPosted event from block {start}",
                                     hint="start the verifier with an earlier start block")
        return _field(posted[-1], "spec_hash", bytes)

    def _result_uri(self, task_id: int) -> str:
        job = self._job(task_id)
        audit = (job.detail.get("audit") or {}) if job is not None else {}
        root = "0x" + self.market.get_task(task_id).merkle_root.hex()
        if audit.get("root") == root:
            return str(audit["result_uri"])
        events = self.market.task_events(self.market.EVENT_TYPES["ResultSubmitted"], task_id,
                                         from_block=self.config.start_block or 0)
        submitted = [e for e in events if "0x" + _field(e, "merkle_root", bytes).hex() == root]
        if not submitted:
            raise UnverifiableResult(f"task {task_id}: no ResultSubmitted event for its committed root")
        return _field(submitted[-1], "result_uri", str)

    def _now(self) -> int:
        return self.market.clock.latest()

    # ------------------------------------------------------------ history

    def _job(self, task_id: int) -> JobRecord | None:
        return self.history.job(self.chain_id, self.market.address, task_id, ROLE)

    def _jobs(self, state: VerifierState) -> list[JobRecord]:
        return [j for j in self.history.jobs(role=ROLE, state=state)
                if j.chain_id == self.chain_id and j.market == self.market.address]

    def _update(self, task_id: int, *, audit: dict[str, Any] | None = None, challenge: dict[str, Any] | None = None,
                jury: dict[str, Any] | None = None, **fields: Any) -> None:
        job = self._job(task_id)
        detail = dict(job.detail) if job is not None else {}
        for name, part in (("audit", audit), ("challenge", challenge), ("jury", jury)):
            if part is not None:
                detail[name] = part
        self.history.upsert_job(self.chain_id, self.market.address, task_id, ROLE, detail=detail, **fields)

    def _emit(self, kind: Kind, message: str, task_id: int | None = None, data: dict[str, Any] | None = None) -> None:
        self.listener(EngineEvent(kind, message, task_id, data or {}))


class BlockNotYet(ChainError):
    """A block the verifier needs is not mined yet; the loop tries again later."""



T = TypeVar("T")


def _field(event: MarketEvent, name: str, kind: type[T]) -> T:
    """A field that v1's and v2's event of one name both carry (``TaskPosted.spec_hash``...)."""
    value = getattr(event, name)
    if not isinstance(value, kind):
        raise TypeError(f"{type(event).__name__}.{name} is {type(value).__name__}, not {kind.__name__}")
    return value


def tx_hash(receipt: TxReceipt) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()
