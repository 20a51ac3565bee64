"""Spec parsing under structure-aware fuzzing: every input parses or is one SpecError."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.errors import SpecError
from engine.safejson import loads
from engine.tasks.load import canonical_json, check, parse
from tests.fuzz.strategies import FUZZ, dumps, mutated, text_mutated
from tests.specs import quick_mlp

BASE = quick_mlp(model=[{"type": "Linear", "in_features": 64, "out_features": 10}],
                 optimizer={"kind": "adam", "lr": 0.003, "betas": [0.9, 0.99]},
                 dataset={"kind": "synthetic_classification", "samples": 50, "features": 64, "classes": 10})
BASE_BYTES = dumps(BASE)


def judged(raw: bytes) -> None:
    """Parse and check ``raw``; a spec that passes must hash to canonical, strict JSON that
    parses back to itself (an accepted Infinity used to make the stored blob invalid JSON)."""
    try:
        checked = check(parse(raw))
    except SpecError as e:
        assert e.message and "\n" not in e.message.strip()
        return
    canonical = canonical_json(checked.spec)
    loads(canonical)  # strict: finite numbers only, no duplicate keys
    assert check(parse(canonical)).sha256 == checked.sha256


@FUZZ
@given(mutated(BASE))
def test_mutated_specs_parse_or_fail_with_one_spec_error(doc: object) -> None:
    judged(dumps(doc))


@FUZZ
@given(st.one_of(text_mutated(BASE_BYTES), st.binary(max_size=200)))
def test_byte_mutated_specs_parse_or_fail_with_one_spec_error(raw: bytes) -> None:
    judged(raw)
