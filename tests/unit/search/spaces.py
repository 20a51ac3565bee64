"""Search spaces for tests: the shipped ones, and edits of them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SPACES = Path(__file__).parents[3] / "resources" / "search"


def shipped(name: str) -> dict[str, Any]:
    return json.loads((SPACES / f"{name}.json").read_text())


def edited(name: str, dotted: str, value: Any) -> dict[str, Any]:
    """A copy of shipped space ``name`` with the field at ``dotted`` set (``...=DELETE`` removes it)."""
    out = copy.deepcopy(shipped(name))
    node: Any = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node[p]
    if value is DELETE:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return out


DELETE = object()
