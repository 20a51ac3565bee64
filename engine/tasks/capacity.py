"""Does this machine have the memory a spec's estimate asks for? Checked before anything runs.

A spec's ``limits`` are the requester's own caps and a spec may raise them (up to the hard
ceilings in :mod:`engine.tasks.spec`); what this machine has is another question. ``validate``
compares the estimate with the most memory any device here has, ``train`` with the device it
will train on, both before a single tensor is allocated, so a spec this machine cannot hold is
refused with a message instead of an allocator's traceback half-way into training.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil

from engine.errors import SpecError
from engine.tasks.load import CheckedSpec

MIB = 1024 * 1024


@dataclass(frozen=True)
class Memory:
    """How much memory one device offers, and a phrase that names it for messages."""

    mb: float
    where: str


def ram(available: bool = False) -> Memory:
    """This machine's RAM: all of it (what any run could hope for) or what is free now."""
    vm = psutil.virtual_memory()
    if available:
        return Memory(vm.available / MIB, "the RAM available now")
    return Memory(vm.total / MIB, "this machine's RAM")


def require_fits(checked: CheckedSpec, memory: Memory) -> None:
    """Refuse a spec whose estimated peak memory is over what ``memory`` offers."""
    need = checked.estimate.memory_mb
    if need > memory.mb:
        raise SpecError("model", f"training needs about {need:,.0f} MB, but {memory.where} is "
                                 f"{memory.mb:,.0f} MB ({checked.estimate.params:,} parameters)",
                        hint="shrink the model or batch_size, or run it on a machine with more memory")
