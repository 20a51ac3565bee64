"""The spec alone decides how a result is judged (engine.tasks.judgement)."""

from __future__ import annotations

import pytest

from engine.errors import SpecError
from engine.tasks.judgement import Mode, judgement_for
from engine.tasks.load import parse
from engine.tasks.spec import DEFAULT_MAX_DISTANCE
from tests.specs import example, quick_mlp

INTEL = "cpu/GenuineIntel-6-143/AVX512/torch-2.13"


@pytest.mark.parametrize("name", ["digits-mlp", "digits-cnn", "tiny-charlm"])
def test_shipped_examples_are_judged_by_tolerance_on_any_machine(name: str) -> None:
    j = judgement_for(parse(example(name), origin=name))
    assert j.mode is Mode.TOLERANCE and j.max_distance == DEFAULT_MAX_DISTANCE
    assert j.can_judge(INTEL) and j.can_judge("mixed") and j.can_judge("")


def test_a_spec_without_verification_is_judged_by_tolerance() -> None:
    spec = quick_mlp()
    del spec["verification"]
    assert judgement_for(parse(spec, origin="s")).mode is Mode.TOLERANCE


def test_exact_mode_names_its_arithmetic_and_only_that_arithmetic_judges() -> None:
    j = judgement_for(parse(quick_mlp(verification={"mode": "exact", "arithmetic": INTEL}), origin="s"))
    assert j.mode is Mode.EXACT and j.arithmetic == INTEL and j.max_distance is None
    assert j.can_judge(INTEL)
    assert not j.can_judge("cpu/AuthenticAMD-25-17/AVX512/torch-2.13")


def test_exact_mode_without_an_arithmetic_is_refused() -> None:
    with pytest.raises(SpecError) as e:
        parse(quick_mlp(verification={"mode": "exact"}), origin="s")
    assert "arithmetic" in e.value.message or "arithmetic" in str(e.value)


def test_a_requester_may_tighten_the_tolerance() -> None:
    j = judgement_for(parse(quick_mlp(verification={"mode": "tolerance", "max_distance": 1e-5}), origin="s"))
    assert j.max_distance == 1e-5


def test_a_bad_tolerance_names_the_field_as_written() -> None:
    with pytest.raises(SpecError) as e:
        parse(quick_mlp(verification={"mode": "tolerance", "max_distance": 5}), origin="s")
    assert str(e.value).startswith("verification.max_distance:")
