"""keyring backends for tests, selectable with PYTHON_KEYRING_BACKEND=tests.unit.wallet.backends.X.

``viable = False`` keeps them out of keyring's own detection, so defining them never
changes which backend other tests get.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.compat import properties
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """A secure-ranked (priority 5) keyring in a dict: stands in for the OS keyring."""

    viable = False

    @properties.classproperty
    def priority(cls) -> float:
        return 5

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("no such entry")


class PlaintextKeyring(MemoryKeyring):
    """Ranked like keyrings.alt's plaintext file backend (priority 0.5): must be refused."""

    @properties.classproperty
    def priority(cls) -> float:
        return 0.5
