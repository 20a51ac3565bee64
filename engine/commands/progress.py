"""A one-line progress bar on stderr for long commands (not shown when stderr is not a tty
unless asked: then one line per update, so logs stay readable)."""

from __future__ import annotations

import sys
from typing import TextIO


def format_eta(seconds: float) -> str:
    if seconds == float("inf"):
        return "--"
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressBar:
    def __init__(self, stream: TextIO | None = None, width: int = 24) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()

    def update(self, step: int, steps: int, loss: float, samples_per_s: float, eta_s: float) -> None:
        frac = step / steps if steps else 1.0
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"[{bar}] {frac:4.0%} step {step}/{steps} loss {loss:.4f} "
                f"{samples_per_s:,.0f} samples/s ETA {format_eta(eta_s)}")
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
