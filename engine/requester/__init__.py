"""The requester role: post tasks with their reward escrowed, follow them, fetch results.

``requester`` holds :class:`Requester`; ``terms`` the amounts and timeouts a task is posted
with and their limits; ``views`` what status shows; ``errors`` what it refuses; ``demo`` the
devnet's demo requester (and the demo verifier it starts as a subprocess).

The package re-exports the names the CLI, the devnet and the tests use, so
``from engine.requester import Requester`` keeps working wherever the code lives.
"""

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
)
from engine.requester.requester import Requester
from engine.requester.result_check import checkpoint_leaf_hash
from engine.requester.terms import DEFAULT_WINDOW, parse_eth
from engine.requester.views import DisputeView, TaskView
from engine.units import format_eth

__all__ = ["DEFAULT_WINDOW", "AmountError", "AuditOpen", "DatasetMismatch", "DatasetMissing", "DisputeView",
           "NoResultYet", "NotCancellable", "NotYourTask", "Requester", "RequesterError", "ResultInvalid", "TaskView",
           "UnknownTask", "checkpoint_leaf_hash", "format_eth", "parse_eth"]
