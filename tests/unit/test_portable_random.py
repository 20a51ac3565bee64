"""Dropout masks from an integer hash: the same bits on every CPU kernel level (and on CUDA:
tests/device/test_portable_dropout_cuda.py), never drawn from a device generator."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
import torch

from engine.training.portable_random import (
    DrawCounter,
    PortableDropout,
    attach_counter,
    dropout_mask,
)
from tests.conftest import REPO

SHAPES = ((64, 128), (32, 4, 32, 32), (1000,))

PROBE = f"""
import hashlib, torch
from engine.training.portable_random import DrawCounter, dropout_mask
c, h = DrawCounter(7), hashlib.sha256()
for step in (0, 1, 599):
    c.at_step(step)
    for shape in {SHAPES!r}:
        h.update(dropout_mask(c, torch.Size(shape), 0.1, torch.device("cpu")).numpy().tobytes())
print(torch.backends.cpu.get_cpu_capability(), h.hexdigest())
"""


def masks_digest() -> str:
    c, h = DrawCounter(7), hashlib.sha256()
    for step in (0, 1, 599):
        c.at_step(step)
        for shape in SHAPES:
            h.update(dropout_mask(c, torch.Size(shape), 0.1, torch.device("cpu")).numpy().tobytes())
    return h.hexdigest()


def offered_levels() -> list[str]:
    """The kernel levels this CPU offers: the best torch picks, and every level below it."""
    best = torch.backends.cpu.get_cpu_capability().lower()
    ladder = ["default", "avx2", "avx512"]
    return ladder[: ladder.index(best) + 1] if best in ladder else ["default"]


def test_masks_are_bit_identical_at_every_kernel_level_this_cpu_offers() -> None:
    digests = {}
    for level in offered_levels():
        env = dict(os.environ, ATEN_CPU_CAPABILITY=level)
        done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=REPO, capture_output=True, text=True,
                              timeout=120, check=True)
        picked, digest = done.stdout.split()
        assert picked.lower() == level  # the subprocess really ran with that level
        digests[level] = digest
    assert set(digests.values()) == {masks_digest()}, digests


def test_masks_keep_about_one_minus_p_and_differ_by_step_and_draw() -> None:
    c = DrawCounter(3)
    c.at_step(10)
    first = dropout_mask(c, torch.Size((200_000,)), 0.25, torch.device("cpu"))
    second = dropout_mask(c, torch.Size((200_000,)), 0.25, torch.device("cpu"))
    c.at_step(11)
    later = dropout_mask(c, torch.Size((200_000,)), 0.25, torch.device("cpu"))
    assert abs(float(first.float().mean()) - 0.75) < 0.005
    for other in (second, later):
        assert abs(float((first == other).float().mean()) - (0.75**2 + 0.25**2)) < 0.005  # independent
    c.at_step(10)
    assert torch.equal(dropout_mask(c, torch.Size((200_000,)), 0.25, torch.device("cpu")), first)


def test_dropout_scales_kept_elements_and_is_identity_in_eval() -> None:
    drop = PortableDropout(0.5)
    c = DrawCounter(0)
    c.at_step(0)
    assert attach_counter(torch.nn.Sequential(drop), c)
    y = drop(torch.ones(1000))
    assert set(torch.unique(y).tolist()) == {0.0, 2.0}
    drop.eval()
    x = torch.randn(10)
    assert drop(x) is x


def test_training_draws_nothing_from_torch_generators(tmp_path) -> None:
    """The old trainer reseeded the device generator every step; the masks now come from the
    hash alone, so torch's global generator is untouched by a training step."""
    from engine.tasks.load import load_spec
    from engine.training.trainer import Session
    from tests.specs import quick_mlp, write

    session = Session.open(load_spec(write(tmp_path / "s.json", quick_mlp())))
    assert session.dropout
    torch.manual_seed(1234)
    before = torch.random.get_rng_state()
    session.step(0)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_a_dropout_layer_without_a_counter_refuses_to_train() -> None:
    with pytest.raises(RuntimeError, match="no DrawCounter"):
        PortableDropout(0.1)(torch.ones(4))


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.999, 1.0 - 2.0**-34])
def test_the_cpu_masks_numpy_path_gives_the_bits_of_the_int64_path_other_devices_use(p: float) -> None:
    """The CPU draws masks in numpy uint32 (a third of the cost); CUDA and other devices run the
    int64 tensor ops. Both must give the same bits, or a GPU worker and a CPU verifier disagree."""
    from engine.training.portable_random import keep_bits, keep_bits_host, threshold

    c = DrawCounter(11)
    for step in (0, 7, 2**40):
        c.at_step(step)
        for shape in SHAPES:
            numel = torch.Size(shape).numel()
            key = c.next_key()
            host = keep_bits_host(c.host_base(numel), key)
            device = keep_bits(c.base(numel, torch.device("cpu")), key)
            assert torch.equal(torch.from_numpy(host.astype("int64")), device)
            c.draw -= 1  # the same draw through the public function
            mask = dropout_mask(c, torch.Size(shape), p, torch.device("cpu"))
            assert mask.dtype == torch.bool
            assert torch.equal(mask, torch.ge(device, threshold(p)).view(shape))
