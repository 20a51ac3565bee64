"""The verifier role: audit committed results, challenge the wrong ones, serve on juries.

One concern per module, stacked into :class:`Verifier` (see :mod:`engine.verifier.verifier`):
``base`` (state, job rows, journaled chain writes, chain reads), ``stake`` (register,
unregister, withdraw), ``auditor`` (sample, replay, challenge), ``jury`` (draw, vote,
resolve); ``audit`` is the sampling arithmetic and ``evidence`` the rules of a segment check.
TaskMarket v2's verifier, :class:`VerifierV2` (:mod:`engine.verifier.verifier_v2`), stacks
``stake_v2``, ``challenge_v2``, ``auditor_v2`` and ``jury_v2`` the same way; ``loop`` is shared.

The package re-exports the names other parts of the engine and the tests use, so
``from engine.verifier import Verifier, VerifierConfig`` keeps working wherever the code lives.
The bare state names (``PASSED``, ``MISSED``...) are the :class:`VerifierState` members.
"""

from engine.verifier.states import ROLE, VerifierConfig, VerifierError, VerifierOptionError, VerifierState
from engine.verifier.verifier import Verifier
from engine.verifier.verifier_v2 import VerifierV2

AUDITING, PASSED, CHALLENGED, UNVERIFIABLE = (VerifierState.AUDITING, VerifierState.PASSED,
                                              VerifierState.CHALLENGED, VerifierState.UNVERIFIABLE)
MISSED, JUROR, RESOLVED = VerifierState.MISSED, VerifierState.JUROR, VerifierState.RESOLVED

__all__ = ["AUDITING", "CHALLENGED", "JUROR", "MISSED", "PASSED", "RESOLVED", "ROLE", "UNVERIFIABLE", "Verifier",
           "VerifierConfig", "VerifierError", "VerifierOptionError", "VerifierState", "VerifierV2"]
