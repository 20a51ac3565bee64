"""How a task's results are judged: decided by the spec alone, never by a worker's manifest.

A worker's manifest is hostile input: a declared device or arithmetic ("mixed", "mps", an
unknown CPU) once turned every replay into "no verdict". So the rule is a pure function of
the spec, which the worker (before claiming), the verifier and the juror all call:

* a spec that names the arithmetic it requires (``{"mode": "exact", "arithmetic": ...}``) is
  judged by bitwise-equal hashes, and only by machines with that arithmetic;
* every other spec (the default, and the shipped examples) is judged by tolerance: the
  replay's tensors within ``max_distance`` of the revealed checkpoint, on any machine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from engine.tasks import spec as s


class Mode(enum.Enum):
    EXACT = "exact"
    TOLERANCE = "tolerance"


@dataclass(frozen=True)
class Judgement:
    """The rule a replay is judged by. ``arithmetic`` is set in exact mode only;
    ``max_distance`` in tolerance mode only."""

    mode: Mode
    arithmetic: str | None = None
    max_distance: float | None = None

    def can_judge(self, arithmetic_here: str) -> bool:
        """Whether a machine computing with ``arithmetic_here`` may claim, verify or vote:
        any machine in tolerance mode, only the named arithmetic in exact mode."""
        return self.mode is Mode.TOLERANCE or arithmetic_here == self.arithmetic


def judgement_for(spec: s.TaskSpec) -> Judgement:
    """The spec's judgement (the only input: nothing a worker declares can change it)."""
    v = spec.verification
    if isinstance(v, s.ExactVerification):
        return Judgement(Mode.EXACT, arithmetic=v.arithmetic)
    return Judgement(Mode.TOLERANCE, max_distance=v.max_distance)
