"""The requester role: post tasks with their reward escrowed, follow them, fetch results.

The package re-exports the names the CLI, the devnet and the tests use, so
``from engine.requester import Requester`` keeps working wherever the code lives.
"""

from engine.requester.requester import (
    DEFAULT_WINDOW,
    AmountError,
    DatasetMismatch,
    DatasetMissing,
    NoResultYet,
    NotCancellable,
    NotYourTask,
    Requester,
    RequesterError,
    ResultInvalid,
    TaskView,
    UnknownTask,
    checkpoint_leaf_hash,
    format_eth,
    parse_eth,
)

__all__ = ["DEFAULT_WINDOW", "AmountError", "DatasetMismatch", "DatasetMissing", "NoResultYet",
           "NotCancellable", "NotYourTask", "Requester", "RequesterError", "ResultInvalid", "TaskView",
           "UnknownTask", "checkpoint_leaf_hash", "format_eth", "parse_eth"]
