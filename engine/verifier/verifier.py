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

from pathlib import Path
from typing import Any

from engine.chain.market import (
    Challenged,
    DisputeResolved,
    JurorPenalized,
    JuryDrawDeferred,
    JuryDrawn,
    MarketEvent,
    ResultSubmitted,
    TaskFinalized,
    TaskMarket,
    TaskReopened,
)
from engine.chain.market_v2 import TaskMarketV2
from engine.config import paths
from engine.events import Kind, Listener, ignore
from engine.history import History
from engine.units import format_eth
from engine.verifier.jury import Jury
from engine.verifier.loop import Loop
from engine.verifier.states import VerifierConfig, VerifierError, VerifierState
from engine.verifier.verifier_v2 import VerifierV2


class Verifier(Jury, Loop[TaskMarket]):
    """Audits results and serves on juries for one market, signing as ``market``'s wallet.

    Its concerns live one module each (:mod:`engine.verifier.base`, :mod:`.stake`,
    :mod:`.auditor`, :mod:`.jury`); this class adds construction, the loop and event dispatch.
    """

    @classmethod
    def from_settings(cls, *, config: VerifierConfig | None = None, devnet: bool = False,
                      dev_account: int | None = None, passphrase: Any = None, history: Path | None = None,
                      listener: Listener = ignore) -> Verifier | VerifierV2:
        """A verifier on the configured network (or the local devnet), signing with the wallet
        (or, on a devnet, anvil's public test account ``dev_account``): a :class:`VerifierV2`
        where the market on chain is TaskMarket v2 (``open_market`` decides by the deployed code).

        ``history`` defaults to the user's history; a dev account is a test actor (the devnet's
        demo verifier is one), so its jobs go to ``<data>/devnet/dev-account-N-history.sqlite3``
        and never mix with the user's (jobs are keyed by task and role, not by account)."""
        from engine.chain.devnet import devnet_dir
        from engine.chain.market import open_market
        from engine.storage import open_store

        network = _network(devnet)
        market = open_market(network, _signer(network.chain_id, dev_account, passphrase))
        store = open_store(network.blob_url or str(paths().blobs_dir), cache=paths().cache_dir / "blobs")
        if history is None and dev_account is not None:
            history = devnet_dir() / f"dev-account-{dev_account}-history.sqlite3"
        if isinstance(market, TaskMarketV2):
            return VerifierV2(market, store, History.open(history), config=config, listener=listener)
        return cls(market, store, History.open(history), config=config, listener=listener)

    # ------------------------------------------------------------ the loop

    def _jury_work(self) -> bool:
        return self._draw_juries() | self._jury_duties() | self._resolve_due()

    def _audit(self) -> bool:
        return self._audit_one()

    # ------------------------------------------------------------ events

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
