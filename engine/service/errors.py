"""Errors of the engine service and its control API (all :class:`IdlegridError`)."""

from __future__ import annotations

from pathlib import Path

from engine.errors import IdlegridError


class ServiceError(IdlegridError):
    """Something went wrong between a client and the engine service."""


class NotRunning(ServiceError):
    """No engine service answers for this user and data folder."""

    exit_code = 3

    def __init__(self, address: str) -> None:
        super().__init__(f"the idlegrid engine service is not running (nothing answers at {address})",
                         hint="start it with `idlegrid daemon run` (or open the app, which starts it)")


class AlreadyRunning(ServiceError):
    """Another engine service holds this user's lock."""

    def __init__(self, lock: Path, pid: int | None) -> None:
        who = f" (process {pid})" if pid else ""
        super().__init__(f"an idlegrid engine service already runs for this data folder{who}: {lock} is locked",
                         hint="use `idlegrid status` to talk to it, or `idlegrid daemon stop` to stop it")


class ProtocolError(ServiceError):
    """A control message that breaks the protocol (too long, not JSON, unknown command...)."""


class CommandFailed(ServiceError):
    """The service answered a command with an error (its message and hint are the service's)."""


class DevnetStartError(ServiceError):
    """The embedded devnet child process did not come up."""
