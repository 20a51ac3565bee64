"""A task's spec as it came off the chain: judged once, with no way to take the worker down.

The worker downloads a stranger's spec blob for every open task it considers. Everything here
is a property of what is on chain (the bytes, their hash, the hash the task commits to), so a
spec refused here is refused for good: :class:`BadPostedSpec` tells the caller to remember the
task as skipped (``History.remember_bad_task``) instead of fetching and judging it again on
every loop. Parsing goes through :func:`engine.tasks.load.parse`, whose limits are checked on
the raw bytes before any JSON is parsed (a 100,000-deep spec costs a scan, not the process).
"""

from __future__ import annotations

import hashlib

from engine.errors import SpecError
from engine.tasks.load import CheckedSpec, check, parse


class BadPostedSpec(SpecError):
    """The task's spec can never be trained: skip the task for good and record why."""


class SpecBlobMismatch(SpecError):
    """The bytes the blob store gave do not hash to the task's specHash: the store's fault (a
    corrupt copy, a lying server), not the task's, so the task may be tried again later."""


def evaluate_posted_spec(raw: bytes, spec_hash: str, task_id: int) -> CheckedSpec:
    """The checked spec of task ``task_id`` from its blob ``raw`` and its on-chain ``spec_hash``
    (hex). :class:`SpecBlobMismatch` when ``raw`` is not that blob (try again later);
    :class:`BadPostedSpec` when the blob that is pinned on chain is unusable (never again).
    Messages read as the worker's skip reasons ("its spec is invalid: ...")."""
    if hashlib.sha256(raw).hexdigest() != spec_hash:
        raise SpecBlobMismatch("", f"the spec blob does not hash to the on-chain specHash {spec_hash[:12]}…")
    try:
        checked = check(parse(raw, origin=f"task {task_id}'s spec"))
    except SpecError as e:
        raise BadPostedSpec("", f"its spec is invalid: {e.message}", hint=e.hint) from None
    if checked.sha256 != spec_hash:
        raise BadPostedSpec("", "its spec blob is not the canonical JSON its specHash commits to",
                            hint="post the spec as `idlegrid requester post` writes it")
    return checked
