"""This machine's arithmetic, asked of a child process so a role's own never imports torch.

The worker needs it for an exact-mode spec (it names the arithmetic it must be trained with),
so it asks once, on the first such spec, and remembers; the v2 verifier registers with it (it
is drawn for exact-mode tasks of its own arithmetic). Shared here, as roles never import one
another.
"""

from __future__ import annotations

import subprocess

from engine.spawn import idlegrid_command


class ArithmeticHere:
    """``idlegrid arithmetic --device DEVICE``, run at most once per role process."""

    def __init__(self, device: str, timeout_s: float = 300.0) -> None:
        self.device, self.timeout_s = device, timeout_s
        self._name: str | None = None

    def get(self) -> str | None:
        """The name, or None when it cannot be had (then exact-mode specs are skipped)."""
        if self._name is None:
            try:
                done = subprocess.run(idlegrid_command("arithmetic", "--device", self.device), capture_output=True,
                                      text=True, timeout=self.timeout_s, check=False)
            except (OSError, subprocess.TimeoutExpired):
                return None
            lines = done.stdout.strip().splitlines()
            if done.returncode != 0 or not lines:
                return None
            self._name = lines[-1]
        return self._name
