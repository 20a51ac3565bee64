"""Mutation operators over a space: each changes one parameter so that the spec changes.

Numeric choices move to a neighbouring value (a small step, as in Real et al.'s mutations);
categorical ones (architecture, activation, optimizer) jump to another value. A mutation that
builds an invalid spec, or the parent's own spec, is drawn again: the result is always valid.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from engine.search.space import Params, SearchSpace, Value

MAX_TRIES = 200


class NoValidMutation(Exception):
    """No mutation of this parent is valid (a space with one valid candidate)."""


def _neighbour(values: list[Value], current: Value, rng: random.Random) -> Value:
    if len(values) < 2:
        return current
    if all(isinstance(v, (int, float)) for v in values) and current in values:
        ordered = sorted(values, key=float)
        i = ordered.index(current)
        steps = [j for j in (i - 1, i + 1) if 0 <= j < len(ordered)]
        return ordered[rng.choice(steps)]
    return rng.choice([v for v in values if v != current])


def mutate_once(space: SearchSpace, parent: Mapping[str, Value], rng: random.Random) -> Params:
    """``parent`` with one parameter that reaches the spec changed (valid or not)."""
    params = space.parameters()
    child: Params = {k: parent.get(k, v[0]) for k, v in params.items()}
    live = [k for k in space.effective(child) if len(params[k]) > 1]
    if not live:
        return child
    key = rng.choice(live)
    child[key] = _neighbour(params[key], child[key], rng)
    return child


def mutate(space: SearchSpace, parent: Mapping[str, Value], rng: random.Random) -> Params:
    """A valid child whose spec differs from the parent's; :class:`NoValidMutation` if none."""
    parent_key = space.effective({k: parent.get(k, v[0]) for k, v in space.parameters().items()})
    for _ in range(MAX_TRIES):
        child = mutate_once(space, parent, rng)
        if space.effective(child) != parent_key and space.valid(child):
            return child
    raise NoValidMutation(f"no valid mutation of {dict(parent_key)} in {MAX_TRIES} draws")


def random_valid(space: SearchSpace, rng: random.Random) -> Params:
    """A uniformly drawn valid candidate (the first generation)."""
    params = space.parameters()
    for _ in range(MAX_TRIES):
        child: Params = {k: rng.choice(v) for k, v in params.items()}
        if space.valid(child):
            return child
    raise NoValidMutation(f"no valid candidate in {MAX_TRIES} random draws")
