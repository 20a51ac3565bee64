"""What the settings forms reject, as errors that name the field and the fix."""

from __future__ import annotations

from pydantic import ValidationError

from engine.chain.errors import ChainError
from engine.errors import UsageError


class SettingsInputError(UsageError):
    """A value typed in a settings form is not acceptable; ``field`` is its label."""

    def __init__(self, section: str, field: str, problem: str, *, hint: str | None = None) -> None:
        self.section = section
        self.field = field
        self.problem = problem
        super().__init__(f"{section}: {field}: {problem}", hint=hint or f"correct '{field}' and save again")


class NotATaskMarket(ChainError):
    """Code lives at the market address, but it does not answer as a TaskMarket."""

    def __init__(self, address: str, url: str, problem: str) -> None:
        self.address = address
        super().__init__(
            f"the contract at {address} on {url} is not a TaskMarket ({problem})",
            hint="check the market address: it must be the TaskMarket contract of this network",
        )


def from_validation(section: str, labels: dict[str, str], error: ValidationError) -> SettingsInputError:
    """The first problem pydantic found, with the form's label for the field."""
    first = error.errors()[0]
    loc = [str(p) for p in first["loc"]]
    field = labels.get(loc[0], loc[0]) if loc else section
    if len(loc) > 1:
        field = f"{field} ({'.'.join(loc[1:])})"
    problem = first["msg"].removeprefix("Value error, ")
    return SettingsInputError(section, field, problem)
