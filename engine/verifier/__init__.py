"""The verifier role: audit committed results, challenge the wrong ones, serve on juries.

The package re-exports the names other parts of the engine and the tests use, so
``from engine.verifier import Verifier, VerifierConfig`` keeps working wherever the code lives.
"""

from engine.verifier.verifier import (
    CHALLENGED,
    MISSED,
    PASSED,
    RESOLVED,
    ROLE,
    UNVERIFIABLE,
    Verifier,
    VerifierConfig,
    VerifierError,
)

__all__ = ["CHALLENGED", "MISSED", "PASSED", "RESOLVED", "ROLE", "UNVERIFIABLE", "Verifier",
           "VerifierConfig", "VerifierError"]
