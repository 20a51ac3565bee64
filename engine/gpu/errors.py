"""Errors of the GPU monitor and the idle policy."""

from __future__ import annotations

from pathlib import Path

from engine.errors import IdlegridError, UsageError


class GpuError(IdlegridError):
    """The GPU monitor cannot do what was asked of it."""


class TimelineError(UsageError, GpuError):
    """A simulated-GPU timeline file is missing or malformed; names the file and the field."""

    def __init__(self, path: Path | str, problem: str, *, hint: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(
            f"timeline {path}: {problem}",
            hint=hint or "see 'Idle policy' in the README for the timeline format",
        )
