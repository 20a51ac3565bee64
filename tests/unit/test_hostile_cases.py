"""Issue 16's cases, each through the real CLI or the real parser: one clear error, no crash.

Each failed before the fix (a traceback, a segfault, or a value silently accepted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from engine.errors import SpecError
from engine.tasks.load import load_spec, parse
from tests.conftest import REPO
from tests.specs import quick_mlp, write

NESTED = "[" * 100_000


def idlegrid(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env=os.environ.copy(),
    )


def refused(r: subprocess.CompletedProcess[str], *phrases: str, code: int = 2) -> None:
    """Exit ``code`` with an ``error:`` line naming each phrase, and no traceback."""
    assert r.returncode == code, (r.returncode, r.stderr[-2000:])
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.startswith("error: "), r.stderr[-2000:]
    for phrase in phrases:
        assert phrase in r.stderr, (phrase, r.stderr)


# -- 1. a nested spec ---------------------------------------------------------------------------

def test_validate_refuses_a_100000_deep_spec_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "nested.json").write_text(NESTED)
    refused(idlegrid("task", "validate", str(tmp_path / "nested.json")), "nested deeper than 16 levels")


def test_requester_post_refuses_a_100000_deep_spec_instead_of_segfaulting(tmp_path: Path) -> None:
    (tmp_path / "nested.json").write_text(NESTED)
    refused(idlegrid("requester", "post", str(tmp_path / "nested.json"), "--reward", "1"), "nested deeper")


def test_a_posted_nested_spec_is_judged_bad_for_good_under_py_eccs_recursion_limit() -> None:
    """What the worker calls on a claimed task's blob, in a process where py_ecc has raised the
    recursion limit to 100,000 (there json.loads of this blob overflowed the C stack)."""
    code = ("import hashlib, sys, py_ecc.bn128\n"
            "assert sys.getrecursionlimit() >= 100000\n"
            "from engine.tasks.posted import BadPostedSpec, evaluate_posted_spec\n"
            "raw = b'[' * 100000\n"
            "try:\n"
            "    evaluate_posted_spec(raw, hashlib.sha256(raw).hexdigest(), 4)\n"
            "except BadPostedSpec as e:\n"
            "    print('refused:', e.message)\n")
    r = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert r.stdout.startswith("refused: its spec is invalid: task 4's spec is nested deeper than 16 levels")


# -- 2. --blobs ---------------------------------------------------------------------------------

def blob_spec(tmp_path: Path, **dataset: object) -> tuple[Path, Path]:
    """A small blob dataset in ``blobs/`` and a spec for it."""
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    rng = np.random.default_rng(0)
    data = tmp_path / "data.safetensors"
    save_file({"x": rng.normal(size=(64, 4)).astype(np.float32), "y": rng.integers(0, 2, 64).astype(np.int64)}, data)
    raw = data.read_bytes()
    import hashlib
    sha = hashlib.sha256(raw).hexdigest()
    (blobs / sha).write_bytes(raw)
    spec = quick_mlp(model=[{"type": "Linear", "in_features": 4, "out_features": 2}], steps=4, checkpoint_every=2,
                     batch_size=8, schedule={"kind": "constant"},
                     dataset={"kind": "blob", "sha256": sha, "size": len(raw), "samples": 64, "x_shape": [4],
                              "classes": 2, **dataset})
    return write(tmp_path / "spec.json", spec), blobs


def test_train_and_replay_take_blobs_as_a_folder(tmp_path: Path) -> None:
    spec, blobs = blob_spec(tmp_path)
    trained = idlegrid("train", str(spec), "--out", str(tmp_path / "job"), "--blobs", str(blobs), "-q",
                       "--device", "cpu")
    assert trained.returncode == 0, trained.stderr
    replayed = idlegrid("replay", str(spec), "--from", str(tmp_path / "job"), "--segment", "1", "--blobs", str(blobs))
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["match"] is True


def test_a_wrong_dataset_size_is_named_as_the_specs_mistake(tmp_path: Path) -> None:
    spec, blobs = blob_spec(tmp_path, size=12345)
    r = idlegrid("train", str(spec), "--out", str(tmp_path / "job"), "--blobs", str(blobs), "-q", "--device", "cpu")
    refused(r, "the spec's dataset.size says 12345", 'hint: set "size":')
    assert "downloaded again" not in r.stderr


# -- 3. values a spec must refuse ----------------------------------------------------------------

@pytest.mark.parametrize("text, problem", [
    ('"lr": Infinity', "Infinity"),
    ('"lr": -Infinity', "-Infinity"),
    ('"lr": NaN', "NaN"),
    ('"lr": 1e999', "overflows"),
])
def test_non_finite_numbers_are_refused(text: str, problem: str) -> None:
    raw = json.dumps(quick_mlp()).replace('"lr": 0.003', text)
    assert text in raw
    with pytest.raises(SpecError, match=problem):
        parse(raw)


@pytest.mark.parametrize("field, value", [("steps", "600"), ("steps", True), ("batch_size", 64.0),
                                          ("seed", "7"), ("threads", False)])
def test_numbers_are_never_coerced_from_strings_booleans_or_floats(field: str, value: object) -> None:
    with pytest.raises(SpecError) as e:
        parse(json.dumps({**quick_mlp(), field: value}))
    assert e.value.path == field and "without quotes" in (e.value.hint or "")


def test_seeds_are_64_bit_so_no_two_seeds_train_the_same_root(tmp_path: Path) -> None:
    top = load_spec(write(tmp_path / "a.json", quick_mlp(seed=2**64 - 1)))
    assert top.spec.seed == 2**64 - 1
    for seed in (2**64, 2**80, 2**80 + 2**64):
        with pytest.raises(SpecError) as e:
            parse(json.dumps(quick_mlp(seed=seed)))
        assert e.value.path == "seed"


def test_a_boolean_is_not_a_spec_version() -> None:
    with pytest.raises(SpecError) as e:
        parse(json.dumps({**quick_mlp(), "version": True}))
    assert e.value.path == "version"


# -- 4. estimates against this machine -----------------------------------------------------------

def huge(width: int, **limits: int) -> dict[str, object]:
    return quick_mlp(model=[{"type": "Linear", "in_features": 64, "out_features": width}, {"type": "ReLU"},
                            {"type": "Linear", "in_features": width, "out_features": width}, {"type": "ReLU"},
                            {"type": "Linear", "in_features": width, "out_features": 10}],
                     batch_size=65536, limits=limits)


def test_a_spec_cannot_raise_its_limits_past_the_hard_ceiling(tmp_path: Path) -> None:
    spec = write(tmp_path / "s.json", huge(1_000_000, max_params=10**13, max_memory_mb=10**9))
    for command in (("task", "validate"), ("train",)):
        refused(idlegrid(*command, str(spec)), "limits.max_params", "10000000000")


def test_validate_and_train_refuse_a_spec_over_this_machines_memory(tmp_path: Path) -> None:
    # 10**10 parameters: ~150 GB of weights, gradients and Adam state before any activation
    spec = write(tmp_path / "s.json", huge(99_000, max_params=10**10, max_memory_mb=1_048_576))
    refused(idlegrid("task", "validate", str(spec)), "training needs about", "this machine's RAM")
    refused(idlegrid("train", str(spec), "--device", "cpu", "--out", str(tmp_path / "job")), "the RAM available now")
    assert not (tmp_path / "job").exists()


@pytest.mark.parametrize("command", [("wallet", "show"), ("worker", "--once")])
def test_a_non_utf8_settings_file_is_one_config_error(idlegrid_home: Path, command: tuple[str, ...]) -> None:
    settings = idlegrid_home / "config" / "settings.toml"
    settings.parent.mkdir(parents=True)
    settings.write_bytes(b"[wallet]\naddress = \"\xff\xfe\"\n")
    refused(idlegrid(*command), "is not UTF-8", "hint:")
    assert settings.read_bytes() == b"[wallet]\naddress = \"\xff\xfe\"\n"


@pytest.mark.parametrize("command", [("wallet", "show"), ("worker", "--once")])
def test_a_settings_file_that_is_a_folder_is_one_config_error(idlegrid_home: Path, command: tuple[str, ...]) -> None:
    (idlegrid_home / "config" / "settings.toml").mkdir(parents=True)
    refused(idlegrid(*command), "is a folder", "hint: remove or rename")


# -- 5. smaller gaps --------------------------------------------------------------------------

def test_replay_errors_carry_a_hint(tmp_path: Path) -> None:
    spec, blobs = blob_spec(tmp_path)
    assert idlegrid("train", str(spec), "--out", str(tmp_path / "job"), "--blobs", str(blobs), "-q",
                    "--device", "cpu").returncode == 0
    refused(idlegrid("replay", str(spec), "--from", str(tmp_path / "job"), "--segment", "9"),
            "segment 9 does not exist", "hint: use --segment 0 to 1")
    other = write(tmp_path / "other.json", {**json.loads(spec.read_text()), "seed": 99})
    refused(idlegrid("replay", str(other), "--from", str(tmp_path / "job"), "--segment", "0"),
            "another spec", "hint: give the spec file")
    (tmp_path / "job" / "ckpt-00001.safetensors").write_bytes(b"\xff" * 100)
    refused(idlegrid("replay", str(spec), "--from", str(tmp_path / "job"), "--segment", "0", "--blobs", str(blobs)),
            "ckpt-00001", "hint:")


def test_history_on_an_empty_file_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "empty.sqlite3"
    db.touch()
    r = idlegrid("history", "--db", str(db))
    assert r.returncode == 0 and "no jobs yet" in r.stdout, r.stderr
    assert db.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite3"]


def test_an_unexpected_exception_is_one_line_without_traceback(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI's last line of defence: a bug still reaches the user as one line and exit 70."""
    from engine import cli
    from engine.commands import task

    def bug(args: object) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(task, "validate", bug)
    monkeypatch.delenv("IDLEGRID_DEBUG", raising=False)
    assert cli.main(["task", "validate", "x.json"]) == cli.EXIT_BUG
    err = capsys.readouterr().err
    assert err.startswith("error: internal error: ZeroDivisionError: division by zero\n")
    assert "Traceback" not in err and "IDLEGRID_DEBUG=1" in err
