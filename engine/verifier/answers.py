"""Where a TaskMarket v2 worker said its demanded checkpoints are: the answers to data demands.

``answerData(demandId, leaf, blob, proof)`` proves the leaf against the committed root and fixes
the checkpoint's blob address on chain (``DataAnswered``). From then on that address, not the
one the result manifest names, is where the checkpoint is fetched, by the demander replaying its
segment and by every juror of a dispute about it: an answer naming an address that holds nothing
(or other bytes) has not made the data available, and a manifest naming a dead address cannot
convict a worker whose answer made it available.

The first answer of the result's round for an index is the one that counts: the verifier and the
jurors read the same events, so they fetch from the same address, and a later answer (to a demand
the worker may have made itself from another account, its bond coming back with the answer)
cannot move the checkpoint after a challenge was committed on the first.
"""

from __future__ import annotations

from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records_v2 import DataAnswered


def answered_blobs(market: TaskMarketV2, task_id: int, round_: int) -> dict[int, str]:
    """Checkpoint index -> blob address (sha256 hex) of the first answer to a data demand on the
    result submitted at block ``round_`` (answers of earlier results of the task are older)."""
    found: dict[int, str] = {}
    for answer in market.task_events(DataAnswered, task_id, from_block=round_):
        found.setdefault(answer.index, answer.blob.hex())
    return found
