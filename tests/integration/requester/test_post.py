"""Posting: the spec and dataset reach the blob server, the reward is escrowed, history records it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from engine.chain.market import TaskPosted
from engine.errors import SpecError
from engine.history import History
from engine.requester import (
    DEFAULT_WINDOW,
    AmountError,
    DatasetMismatch,
    DatasetMissing,
    Requester,
    RequesterError,
    format_eth,
    parse_eth,
)
from engine.storage import BlobServer, HttpStore
from engine.tasks.load import canonical_json, load_spec
from tests.specs import edit, quick_mlp, write

REWARD = 5 * 10**16  # 0.05 ETH


def posted_event(requester: Requester, task_id: int) -> TaskPosted:
    (event,) = list(requester._events(TaskPosted, task_id, from_block=0))
    return event


def test_post_uploads_the_canonical_spec_and_escrows_the_reward(
        requester: Requester, blob_server: BlobServer, history: History, tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.json", quick_mlp())
    before = requester.market.w3.eth.get_balance(requester.market.address)
    task_id = requester.post(spec, reward=REWARD)

    checked = load_spec(spec)
    event = posted_event(requester, task_id)
    assert event.spec_hash.hex() == checked.sha256 == hashlib.sha256(canonical_json(checked.spec)).hexdigest()
    assert event.spec_uri == f"blob:{checked.sha256}"
    assert HttpStore(blob_server.url).get_bytes(checked.sha256) == canonical_json(checked.spec)
    assert requester.market.w3.eth.get_balance(requester.market.address) == before + REWARD
    assert event.worker_stake == REWARD // 10 and event.challenge_window == DEFAULT_WINDOW

    job = history.job(requester.chain_id, requester.market.address, task_id, "requester")
    assert (job.name, job.state, job.reward, job.spec_sha256) == (checked.spec.name, "open", REWARD, checked.sha256)
    assert job.txs["post"] == event.tx_hash and job.gas_paid > 0


def test_post_takes_the_terms_given(requester: Requester, tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.json", quick_mlp())
    task_id = requester.post(spec, reward=REWARD, stake=10**15, window=60, claim_timeout=120, train_timeout=900)
    task = requester.market.get_task(task_id)
    assert (task.worker_stake, task.challenge_window, task.claim_timeout, task.train_timeout) == (10**15, 60, 120, 900)


def test_an_invalid_spec_is_refused_before_anything_is_sent(requester: Requester, tmp_path: Path) -> None:
    spec = write(tmp_path / "bad.json", edit(quick_mlp(), "model.0.in_features", 100))
    count = requester.market.task_count()
    with pytest.raises(SpecError, match=r"bad.json: model\[0\]") as e:
        requester.post(spec, reward=REWARD)
    assert e.value.exit_code == 2
    assert requester.market.task_count() == count


def blob_dataset(tmp_path: Path) -> tuple[Path, dict]:
    """A small safetensors dataset and a spec that names it."""
    rng = np.random.default_rng(0)
    path = tmp_path / "data.safetensors"
    save_file({"x": rng.standard_normal((64, 8)).astype(np.float32), "y": rng.integers(0, 3, 64).astype(np.int64)},
              str(path))
    dataset = {"kind": "blob", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
               "size": path.stat().st_size, "samples": 64, "x_shape": [8], "y_shape": [], "classes": 3}
    spec = quick_mlp(dataset=dataset, model=[{"type": "Linear", "in_features": 8, "out_features": 3}], batch_size=16)
    return path, spec


def test_a_blob_dataset_given_with_data_is_checked_and_uploaded(
        requester: Requester, blob_server: BlobServer, tmp_path: Path) -> None:
    data, spec = blob_dataset(tmp_path)
    requester.post(write(tmp_path / "spec.json", spec), reward=REWARD, data=data)
    assert HttpStore(blob_server.url).get_bytes(spec["dataset"]["sha256"]) == data.read_bytes()


def test_a_blob_dataset_in_the_local_store_needs_no_data_option(
        requester: Requester, blob_server: BlobServer, tmp_path: Path) -> None:
    data, spec = blob_dataset(tmp_path)
    requester.local.put_file(data)
    requester.post(write(tmp_path / "spec.json", spec), reward=REWARD)
    assert HttpStore(blob_server.url).has(spec["dataset"]["sha256"])


def test_a_missing_dataset_is_a_clear_error(requester: Requester, tmp_path: Path) -> None:
    _, spec = blob_dataset(tmp_path)
    count = requester.market.task_count()
    with pytest.raises(DatasetMissing, match="is not in the local blob store") as e:
        requester.post(write(tmp_path / "spec.json", spec), reward=REWARD)
    assert "--data FILE" in e.value.hint
    assert requester.market.task_count() == count


def test_a_dataset_whose_hash_differs_from_the_spec_is_refused(requester: Requester, tmp_path: Path) -> None:
    data, spec = blob_dataset(tmp_path)
    other = tmp_path / "other.safetensors"
    other.write_bytes(data.read_bytes()[:-1] + b" ")
    with pytest.raises(
        DatasetMismatch, match=f"has sha256 .* but the spec's dataset.sha256 is {spec['dataset']['sha256']}"
    ):
        requester.post(write(tmp_path / "spec.json", spec), reward=REWARD, data=other)


def test_a_dataset_whose_size_differs_from_the_spec_is_refused(requester: Requester, tmp_path: Path) -> None:
    data, spec = blob_dataset(tmp_path)
    spec["dataset"]["size"] += 1
    with pytest.raises(DatasetMismatch, match=r"but the spec's dataset.size is"):
        requester.post(write(tmp_path / "spec.json", spec), reward=REWARD, data=data)


def test_data_for_a_spec_without_a_blob_dataset_is_refused(requester: Requester, tmp_path: Path) -> None:
    data, _ = blob_dataset(tmp_path)
    with pytest.raises(DatasetMismatch, match="dataset is 'digits', not a blob"):
        requester.post(write(tmp_path / "spec.json", quick_mlp()), reward=REWARD, data=data)


@pytest.mark.parametrize("text, wei", [("1", 10**18), ("0.05", 5 * 10**16), (" 1e-18 ", 1), ("2.500", 25 * 10**17)])
def test_eth_amounts_are_exact(text: str, wei: int) -> None:
    assert parse_eth(text, "--reward") == wei


@pytest.mark.parametrize("text, message", [
    ("abc", "--reward 'abc' is not a number"),
    ("nan", "--reward 'nan' is not a number"),
    ("0", "--reward 0 ETH is too small"),
    ("-1", "--reward -1 ETH is too small"),
    ("0.0000000000000000001", "has more than 18 decimals"),
    ("1e30", "is too large"),
])
def test_bad_eth_amounts_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(AmountError, match=message.replace("(", r"\(")) as e:
        parse_eth(text, "--reward")
    assert e.value.exit_code == 2


def test_format_eth_is_exact() -> None:
    assert [format_eth(w) for w in (0, 1, 10**18, 15 * 10**17)] == ["0", "0.000000000000000001", "1", "1.5"]


def test_a_reward_above_the_balance_is_refused(requester: Requester, tmp_path: Path) -> None:
    balance = requester.market.w3.eth.get_balance(requester.address)
    with pytest.raises(
        RequesterError, match=f"your wallet {requester.address} holds .* ETH, less than the reward"
    ) as e:
        requester.post(write(tmp_path / "spec.json", quick_mlp()), reward=balance + 1)
    assert "--fund" in e.value.hint
