"""The search-space file: strict validation with errors that name the field and a fix, and
candidates that always build into valid specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import SpecError, UsageError
from engine.search.load import load_space, parse_space
from engine.search.space import Goal, SpaceError
from engine.tasks.load import check
from tests.unit.search.spaces import DELETE, SPACES, edited, shipped


def error_of(body: dict | str) -> SpaceError:
    with pytest.raises(SpaceError) as e:
        parse_space(body if isinstance(body, str) else json.dumps(body))
    return e.value


@pytest.mark.parametrize("name, count", [("digits", 60), ("charlm", 16)])
def test_every_candidate_of_a_shipped_space_builds_a_spec_that_passes_the_spec_checks(name: str, count: int) -> None:
    space = load_space(SPACES / f"{name}.json")
    candidates = [space.build(p) for p in space.enumerate()]
    assert len({c.sha256 for c in candidates}) == count
    for c in candidates:
        assert check(c.checked.spec).sha256 == c.sha256
        assert c.checked.estimate.params <= space.file.constraints.max_params


def test_the_goal_follows_the_metric() -> None:
    assert load_space(SPACES / "digits.json").goal == Goal.MAXIMIZE
    assert load_space(SPACES / "charlm.json").goal == Goal.MINIMIZE


@pytest.mark.parametrize("dotted, value, path, words", [
    ("colour", "red", "colour", "not a known field"),
    ("architectures.mlp.depth", [1], "architectures.mlp.depth", "not a known field"),
    ("constraints.max_params", DELETE, "constraints.max_params", "required"),
    ("choices.lr", [], "choices.lr", "at least 1"),
    ("choices.activation", ["Swish"], "choices.activation[0]", "ReLU"),
    ("choices.lr", [0.01, 0.01], "", "lists a value twice"),
    ("architectures.mlp.kind", "rnn", "architectures.mlp", "rnn"),
    ("base.optimizer", {"kind": "adam", "lr": -1}, "base.optimizer.lr", "greater than 0"),
    ("base.model", [], "base.model", "not a known field"),
    ("constraints.max_params", "1000", "constraints.max_params", "integer"),
])
def test_a_bad_field_is_named_with_what_is_wrong(dotted: str, value: object, path: str, words: str) -> None:
    e = error_of(edited("digits", dotted, value))
    assert e.path == path
    assert words in str(e)


def test_an_unknown_version_asks_for_an_upgrade() -> None:
    e = error_of(edited("digits", "version", 2))
    assert e.path == "version" and "upgrade" in (e.hint or "")


def test_bad_json_and_non_objects_are_one_clear_error() -> None:
    assert "not valid JSON" in str(error_of("{\"version\": 1,"))
    assert "JSON object" in str(error_of("[1, 2]"))


def test_constraints_no_candidate_can_meet_name_the_architecture() -> None:
    e = error_of(edited("digits", "constraints.max_params", 100))
    assert e.path == "architectures.mlp" and "max_params" in str(e)


def test_a_cnn_over_flat_inputs_is_refused_with_the_layout_to_use() -> None:
    e = error_of(edited("digits", "base.dataset", {"kind": "digits", "layout": "flat"}))
    assert e.path == "architectures.cnn" and "image" in str(e)


def test_the_time_constraint_rejects_candidates_that_would_train_too_long() -> None:
    space = parse_space(json.dumps(edited("digits", "constraints.reference_gflops", 0.02)))
    budget = space.file.constraints.max_seconds
    valid = [p for p in space.enumerate() if space.valid(p)]
    assert 0 < len(valid) < 60
    with pytest.raises(SpecError, match="max_seconds"):
        space.build(next(p for p in space.enumerate() if not space.valid(p)))
    assert all(space.build(p).checked.estimate.total_flops / 0.02e9 <= budget for p in valid)


def test_a_missing_file_is_a_usage_error_with_the_shipped_spaces_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist") as e:
        load_space(tmp_path / "nope.json")
    assert "resources/search" in (e.value.hint or "")


def test_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "space.json"
    path.write_text(json.dumps(edited("charlm", "choices.lr", [])))
    with pytest.raises(SpaceError) as e:
        load_space(path)
    assert str(path) in e.value.path and "choices.lr" in e.value.path


def test_parameters_of_an_unchosen_architecture_do_not_reach_the_spec() -> None:
    space = parse_space(json.dumps(shipped("digits")))
    first = next(iter(space.enumerate()))
    full = {k: v[0] for k, v in space.parameters().items()} | first
    other = dict(full, **{"cnn.channels": 16 if full["cnn.channels"] == 8 else 8})
    assert full["arch"] == "mlp" and space.build(full).sha256 == space.build(other).sha256
