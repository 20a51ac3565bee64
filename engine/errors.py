"""The one exception tree of idlegrid.

Every error a user can meet derives from :class:`IdlegridError` and carries a message that
says what is wrong, where, and how to fix it. The CLI prints it without a traceback and the
app shows it in a dialog; callers never see a raw library exception.
"""

from __future__ import annotations


class IdlegridError(Exception):
    """Root of all idlegrid errors. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\n  hint: {hint}")


class UsageError(IdlegridError):
    """Bad input from the command line or a file the user named."""

    exit_code = 2


class SpecError(UsageError):
    """A task spec that cannot be trained; ``path`` names the offending field."""

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem, hint=hint)


class WrongArithmetic(IdlegridError):
    """An exact-mode result computed with other floating-point arithmetic than this machine's
    (see ``engine.training.determinism.arithmetic``): it cannot be judged bit for bit here."""

    exit_code = 3


class ConfigError(UsageError):
    """The settings file or an environment override is unusable."""


class CheckpointError(UsageError):
    """A checkpoint is missing, corrupt, or does not belong to the job it claims to."""


class DatasetError(UsageError):
    """A dataset cannot be built or loaded (missing blob, wrong hash, bad tensors)."""


class TrainingError(IdlegridError):
    """Training could not go on (limit exceeded, non-finite loss)."""


class RunnerError(IdlegridError):
    """The training subprocess failed, died, or broke its protocol."""
