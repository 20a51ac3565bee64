"""Every kind of bad spec gives a SpecError that names the field and what would be valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.errors import SpecError
from engine.tasks.load import check, load_spec, parse
from engine.training.model import meta_dry_run
from tests.conftest import REPO, TASKS
from tests.specs import edit, example, write

EXAMPLES = ["digits-mlp", "digits-cnn", "tiny-charlm"]
MLP = example("digits-mlp")


def error_of(spec: dict) -> SpecError:
    with pytest.raises(SpecError) as e:
        check(parse(json.dumps(spec)))
    return e.value


@pytest.mark.parametrize("name", EXAMPLES)
def test_shipped_examples_validate_and_static_shapes_agree_with_meta_run(name: str) -> None:
    checked = load_spec(TASKS / f"{name}.json")
    meta_dry_run(checked)  # raises if torch's shapes differ from the static inference
    assert checked.estimate.params > 0 and checked.estimate.flops_per_step > 0


@pytest.mark.parametrize(
    ("spec", "path", "words"),
    [
        ({**MLP, "colour": "red"}, "colour", "not a known field"),
        (edit(MLP, "model.0", {**MLP["model"][0], "bias_init": 0}), "model[0].bias_init", "not a known field"),
        (edit(MLP, "model.1", {"type": "Softmax2000"}), "model[1].type", "'Softmax2000' is not supported"),
        (edit(MLP, "model.3.in_features", 100), "model[3] (Linear)", "in_features=100"),
        ({**MLP, "steps": 0}, "steps", "greater than 0"),
        ({**MLP, "steps": -5}, "steps", "greater than 0"),
        (edit(MLP, "optimizer.lr", 0), "optimizer.lr", "greater than 0"),
        (edit(MLP, "optimizer.lr", -0.1), "optimizer.lr", "greater than 0"),
        ({**MLP, "checkpoint_every": 601}, "checkpoint_every", "larger than steps"),
        (edit(MLP, "limits.max_params", 1000), "limits.max_params", "17,226 parameters"),
        (edit(MLP, "limits.max_memory_mb", 10), "limits.max_memory_mb", "over the limit 10"),
        (edit(MLP, "model.5.out_features", 5), "model[5]", "10 classes"),
        ({**MLP, "loss": "mse"}, "loss", "class labels"),
        (edit(MLP, "dataset.layout", "image"), "model[0] (Linear)", "in_features=64"),
        (edit(MLP, "dataset", {"kind": "mnist"}), "dataset.kind", "'mnist' is not supported"),
        (edit(MLP, "optimizer", {"kind": "lion", "lr": 0.1}), "optimizer.kind", "'lion' is not supported"),
        ({**MLP, "version": 2}, "version", "not supported"),
        (edit(MLP, "evaluation.metric", "mse"), "evaluation.metric", "float targets"),
        (edit(MLP, "schedule.warmup_steps", 600), "schedule.warmup_steps", "not below steps"),
        ({k: v for k, v in MLP.items() if k != "loss"}, "loss", "is required"),
        (edit(MLP, "model.1", {"p": 0.1}), "model[1].type", "is required"),
    ],
)
def test_bad_spec_names_the_field(spec: dict, path: str, words: str) -> None:
    err = error_of(spec)
    assert err.path == path
    assert words in str(err)


def test_embedding_on_float_features_says_to_use_integer_inputs() -> None:
    spec = edit(MLP, "model.0", {"type": "Embedding", "num_embeddings": 10, "embedding_dim": 64})
    err = error_of(spec)
    assert err.path == "model[0] (Embedding)" and "integer" in str(err)


def test_transformer_heads_must_divide_dim() -> None:
    spec = edit(example("tiny-charlm"), "model.2.heads", 5)
    err = error_of(spec)
    assert err.path == "model[2].dim" or err.path.startswith("model[2]")
    assert "divisible" in str(err)


def test_conv_on_flat_input_names_the_layer_and_expected_rank() -> None:
    spec = edit(example("digits-cnn"), "dataset.layout", "flat")
    err = error_of(spec)
    assert err.path == "model[0] (Conv2d)" and "(channels, height, width)" in str(err)


def test_not_json_and_not_object_are_reported(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("{nope")
    with pytest.raises(SpecError, match=r"s\.json: the file is not valid JSON"):
        load_spec(tmp_path / "s.json")
    with pytest.raises(SpecError, match="must be a JSON object"):
        parse(b"[1, 2]")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.json")


def test_error_from_a_file_is_prefixed_with_its_path(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.json", {**MLP, "steps": 0})
    with pytest.raises(SpecError) as e:
        load_spec(path)
    assert str(path) in e.value.path and "steps" in e.value.path


def test_spec_hash_ignores_formatting_but_not_values(tmp_path: Path) -> None:
    a = load_spec(write(tmp_path / "a.json", MLP))
    (tmp_path / "b.json").write_text(json.dumps(MLP, indent=4, sort_keys=True))
    b = load_spec(tmp_path / "b.json")
    c = load_spec(write(tmp_path / "c.json", {**MLP, "seed": 8}))
    assert a.sha256 == b.sha256 != c.sha256


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=REPO)


def test_cli_validate_ok_prints_one_summary_line() -> None:
    r = run_cli("task", "validate", str(TASKS / "digits-mlp.json"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("digits-mlp: ok: 17,226 params")


def test_cli_validate_bad_spec_exits_2_with_the_field(tmp_path: Path) -> None:
    r = run_cli("task", "validate", str(write(tmp_path / "bad.json", edit(MLP, "model.3.in_features", 100))))
    assert r.returncode == 2
    assert "model[3] (Linear)" in r.stderr and "hint: set in_features to 128" in r.stderr
    assert "Traceback" not in r.stderr
