"""The memory of the devices torch sees, for :mod:`engine.tasks.capacity` (torch lives here)."""

from __future__ import annotations

import torch

from engine.tasks.capacity import MIB, Memory, ram


def device_memory(device: str) -> Memory:
    """What training on ``device`` ("cpu" or "cuda") can use: a GPU's total memory, or the RAM
    free now (a CPU run shares it with everything else on the machine)."""
    if device.startswith("cuda"):
        index = torch.device(device).index or 0
        props = torch.cuda.get_device_properties(index)
        return Memory(props.total_memory / MIB, f"GPU {index} ({props.name})'s memory")
    return ram(available=True)


def largest_memory() -> Memory:
    """The most memory any one device here has: the bound for "could this machine ever run it"."""
    best = ram()
    for index in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        props = torch.cuda.get_device_properties(index)
        if props.total_memory / MIB > best.mb:
            best = Memory(props.total_memory / MIB, f"GPU {index} ({props.name})'s memory")
    return best
