"""Every TaskMarketV2 event, emitted on a real anvil by a market's life through the bindings, comes
back from the poller and the follower as its own dataclass, and no log of the market is left undecoded."""

from __future__ import annotations

import hashlib

from engine.chain.anvil import mine, time_travel
from engine.chain.events import EventCursor
from engine.chain.market_v2 import audit_segment
from engine.chain.records_v2 import EVENT_TYPES_V2, DisputeResolved, DisputeStatus, JuryDrawDeferred
from tests.integration.chain_v2 import steps


def life_of_a_market(actors, verifiers) -> None:
    """Every call of the market at least once: each event at least once."""
    requester, worker, challenger, demander = (actors[k] for k in ("requester", "worker", "challenger", "demander"))
    params = requester.params()
    steps.register(verifiers)                                    # VerifierRegistered

    cancelled = steps.post(requester)                            # TaskPosted
    requester.cancel_task(cancelled).send()                      # TaskCancelled
    idle = steps.post(requester)
    worker.claim_task(idle).send()                               # TaskClaimed
    time_travel(worker.w3, steps.TRAIN_TIMEOUT + 1)
    requester.expire_claim(idle).send()                          # ClaimExpired, TaskReopened

    steps.next_epoch(requester)   # the submit, the audit draw and the challenge in one epoch
    tree = steps.checkpoint_tree(8)
    task_id = steps.submitted(requester, worker, tree)           # ResultSubmitted
    mine(requester.w3, 2)
    requester.assign_auditors(task_id).send()                    # AuditorsAssigned
    auditor = next(v for v in verifiers if v.sender.address in requester.auditors(task_id))
    salt = hashlib.sha256(b"audit").digest()
    leaf = tree.leaves[audit_segment(task_id, salt, len(tree)) + 1]
    auditor.commit_audit(task_id, leaf, salt).send()             # AuditCommitted
    demand_id = steps.demand(demander, task_id, 1)               # DataDemanded
    worker.answer_data(demand_id, tree.leaves[1], bytes(32), tree.proof(1)).send()  # DataAnswered
    unrevealed = steps.commit_challenge(demander, task_id, 4)    # ChallengeCommitted
    dispute_id = steps.challenge(challenger, task_id, tree)      # Challenged
    steps.next_epoch(requester)
    mine(requester.w3, 1)
    deferred = requester.events_in(requester.draw_jury(dispute_id).send())
    assert [type(e) for e in deferred] == [JuryDrawDeferred]     # the seed's epoch is gone: drawn anew
    steps.draw(requester, dispute_id)                            # JuryDrawn
    time_travel(requester.w3, params.commit_period + params.reveal_period + 2)
    requester.resolve(dispute_id).send()                         # JurorPenalized (silent), JuryRedrawn
    by_address = {v.sender.address: v for v in verifiers}
    jury = steps.draw(requester, dispute_id)
    steps.vote({by_address[a]: True for a in jury}, dispute_id)  # VoteCommitted, VoteRevealed
    (resolved,) = [e for e in requester.events_in(requester.resolve(dispute_id).send())
                   if isinstance(e, DisputeResolved)]
    assert resolved.outcome == DisputeStatus.WORKER_WON
    requester.expire_challenge(unrevealed).send()                # ChallengeExpired
    worker.finalize(task_id).send()                              # TaskFinalized
    auditor.reveal_audit(task_id, leaf, tree.proof(audit_segment(task_id, salt, len(tree)) + 1),
                         salt).send()                            # AuditRevealed
    requester.close_audit(task_id).send()                        # AuditClosed
    worker.withdraw().send()                                     # Withdrawn

    faulty = steps.submitted(requester, worker, steps.checkpoint_tree())
    fault = steps.demand(demander, faulty, 0)
    time_travel(requester.w3, params.response_period + 1)
    requester.claim_data_fault(fault).send()                     # DataFault
    leaving = verifiers[0]
    leaving.unregister().send()                                  # VerifierUnregistering
    time_travel(leaving.w3, params.unbonding_period + 1)
    leaving.withdraw_stake().send()                              # VerifierStakeWithdrawn


def test_every_v2_event_is_decoded_to_its_dataclass(actors, verifiers, chain, deployment_v2) -> None:
    life_of_a_market(actors, verifiers)
    market = actors["requester"]
    events, cursor = market.poller(confirmations=0).poll(EventCursor(deployment_v2.deploy_block))
    raw = chain.eth.get_logs({"address": market.address, "fromBlock": deployment_v2.deploy_block,
                              "toBlock": cursor.next_block - 1})
    assert len(events) == len(raw)                               # no log of the market left undecoded
    assert {type(e) for e in events} == set(EVENT_TYPES_V2.values())
    assert [(e.block_number, e.log_index) for e in events] == [(r["blockNumber"], r["logIndex"]) for r in raw]

    follower = market.follower(EventCursor(deployment_v2.deploy_block))
    assert follower.changes() == events
    market.withdraw().send()                                     # the requester's refunds, followed live
    assert [type(e).__name__ for e in follower.changes()] == ["Withdrawn"]
