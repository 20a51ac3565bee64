"""What the requester refuses, each with what to fix: all :class:`engine.errors.UsageError`."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from engine.chain.market import Task, TaskStatus
from engine.chain.records_v2 import TaskStatusV2, TaskV2
from engine.errors import UsageError

if TYPE_CHECKING:
    pass



class RequesterError(UsageError):
    """A requester command cannot do what was asked (exit code 2: the input is wrong)."""


class AmountError(RequesterError):
    """An ETH amount on the command line is not a usable number."""


class UnknownTask(RequesterError):
    def __init__(self, task_id: int, count: int) -> None:
        self.task_id = task_id
        known = f"tasks run from 1 to {count}" if count else "no task has been posted on this market yet"
        super().__init__(f"task {task_id} does not exist on this market ({known})",
                         hint="`idlegrid requester status` lists your tasks")


class NotYourTask(RequesterError):
    def __init__(self, task_id: int, requester: str, you: str) -> None:
        super().__init__(f"task {task_id} was posted by {requester}, not by your wallet {you}",
                         hint="only the requester who posted a task can cancel it")


class NoResultYet(RequesterError):
    def __init__(self, task_id: int, status: TaskStatus | TaskStatusV2) -> None:
        why = {
            TaskStatus.OPEN: "no worker has claimed it yet",
            TaskStatus.CLAIMED: "a worker is training it and has not committed a result yet",
            TaskStatus.CANCELLED: "it was cancelled",
        }.get(TaskStatus(int(status)), status.name.lower())
        super().__init__(f"task {task_id} has no result: {why}",
                         hint=f"`idlegrid requester status {task_id}` shows where it stands")


class NotCancellable(RequesterError):
    def __init__(self, task_id: int, task: Task | TaskV2, now: int) -> None:
        status = task.status.name.lower()
        if task.status == TaskStatus.CLAIMED:
            message = f"task {task_id} is claimed by {task.worker} and cannot be cancelled"
            hint = (f"the claim runs until {format_utc(task.deadline)} ({max(task.deadline - now, 0)} s from now); "
                    "if no result arrives by then, `cancel` again: the claim expires and the task is cancelled")
        else:
            message = f"task {task_id} is {status}; only an open task can be cancelled"
            hint = f"`idlegrid requester status {task_id}` shows where it stands"
        super().__init__(message, hint=hint)


class AuditOpen(RequesterError):
    """A v2 task's audit cannot close yet: its result is not final, or its auditors may still
    reveal. ``closes_after``: the chain time after which it can (None where no result is in
    sight: the task is open or claimed again)."""

    def __init__(self, message: str, *, hint: str, closes_after: int | None) -> None:
        super().__init__(message, hint=hint)
        self.closes_after = closes_after


class DatasetMissing(RequesterError):
    """The spec names a dataset blob that is neither given nor in the local store."""


class DatasetMismatch(RequesterError):
    """The dataset file given does not match the sha256 / size the spec names."""


class ResultInvalid(RequesterError):
    """A worker's published result does not check out against the chain (their fault, not yours)."""

    exit_code = 1


def format_utc(ts: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))
