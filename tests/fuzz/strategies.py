"""Shared fuzzing settings and strategies.

``make test`` runs each target for ``CASES`` examples (2,000); ``IDLEGRID_FUZZ=long`` runs
50,000 each (``IDLEGRID_FUZZ=long .venv/bin/python -m pytest tests/fuzz``). No example
database is written (nothing is left behind in the checkout) and there is no per-example
deadline (a loaded machine is not a failure); a hang is caught by the targets' own timeouts.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CASES = 50_000 if os.environ.get("IDLEGRID_FUZZ") == "long" else 2_000

FUZZ = settings(max_examples=CASES, deadline=None, database=None, derandomize=os.environ.get("IDLEGRID_FUZZ") != "long",
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (dict keys and list indexes), the root included."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths_of(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += paths_of(item, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """``base`` with one to three of: a value replaced, a key removed, an unknown key added."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths_of(doc)))
        if not path:
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(("replace", "remove", "add")))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "remove" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
    return doc


@st.composite
def text_mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few byte-level edits: insertions, deletions, brackets piled up."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(("insert", "delete", "nest")))
        if kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        else:
            data[at:at] = draw(st.sampled_from((b"[", b"{\"a\":"))) * draw(st.integers(1, 5000))
    return bytes(data)


def dumps(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()
