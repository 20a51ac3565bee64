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

import threading
from pathlib import Path
from typing import Any

from engine.chain.events import EventCursor
from engine.chain.market import (
    Challenged,
    DisputeResolved,
    JurorPenalized,
    JuryDrawDeferred,
    JuryDrawn,
    MarketEvent,
    ResultSubmitted,
    TaskFinalized,
    TaskReopened,
)
from engine.config import paths
from engine.errors import IdlegridError, UsageError
from engine.events import EngineState, Kind, Listener, ignore
from engine.history import History
from engine.units import format_eth
from engine.verifier.jury import Jury
from engine.verifier.states import VerifierConfig, VerifierError, VerifierState


class Verifier(Jury):
    """Audits results and serves on juries for one market, signing as ``market``'s wallet.

    Its concerns live one module each (:mod:`engine.verifier.base`, :mod:`.stake`,
    :mod:`.auditor`, :mod:`.jury`); this class adds construction, the loop and event dispatch.
    """

    @classmethod
    def from_settings(cls, *, config: VerifierConfig | None = None, devnet: bool = False,
                      dev_account: int | None = None, passphrase: Any = None, history: Path | None = None,
                      listener: Listener = ignore) -> Verifier:
        """A verifier on the configured network (or the local devnet), signing with the wallet
        (or, on a devnet, anvil's public test account ``dev_account``).

        ``history`` defaults to the user's history; a dev account is a test actor (the devnet's
        demo verifier is one), so its jobs go to ``<data>/devnet/dev-account-N-history.sqlite3``
        and never mix with the user's (jobs are keyed by task and role, not by account)."""
        from engine.chain.devnet import devnet_dir
        from engine.chain.market import open_market, require_v1
        from engine.storage import open_store

        network = _network(devnet)
        market = require_v1(open_market(network, _signer(network.chain_id, dev_account, passphrase)), "the verifier")
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
            if job is not None and job.state == VerifierState.AUDITING and event.challenger != self.address:
                self._update(event.task_id, state=VerifierState.MISSED,
                             outcome=f"challenged first by {event.challenger}")
                self._emit(Kind.LOG, f"challenged first by {event.challenger} (segment {event.segment}): audit stopped",
                           event.task_id, {"state": VerifierState.MISSED})
        elif isinstance(event, JuryDrawDeferred):
            self._cursor.disputes.add(event.task_id)
        elif isinstance(event, JuryDrawn) and self.address in event.jury:
            self._on_drawn(event)
        elif isinstance(event, JurorPenalized):
            self._penalties[event.tx_hash] = self._penalties.get(event.tx_hash, 0) + event.amount
            if event.juror == self.address:
                self.history.add_ledger(self.chain_id, self.market.address, event.task_id, "slashed", event.amount,
                                        tx_hash=event.tx_hash)
                self._emit(Kind.NOTICE, f"penalized {format_eth(event.amount, digits=6)} ETH for not revealing a vote",
                           event.task_id, {"state": "penalized"})
        elif isinstance(event, DisputeResolved):
            self._on_resolved(event)
        elif isinstance(event, (TaskFinalized, TaskReopened)):
            job = self._job(event.task_id)
            if job is not None and job.state == VerifierState.AUDITING:
                self._update(event.task_id, state=VerifierState.MISSED,
                             outcome="the challenge window closed before the audit ended")


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
    if dev_account is None:
        from engine.wallet import load_signer

        return load_signer(passphrase, chain_id=chain_id)
    from engine.chain.anvil import DEV_CHAIN_ID
    from engine.chain.devkeys import dev_signer

    return dev_signer(dev_account, devnet=chain_id == DEV_CHAIN_ID)
