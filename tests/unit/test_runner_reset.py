"""What a job may change process-wide is put back before a reused runner's next job."""

from __future__ import annotations

import random
import sys

import numpy as np
import torch

from engine.runner.reset import ProcessState


def test_restore_undoes_what_a_job_may_change() -> None:
    before = ProcessState.capture()
    draws = (torch.rand(3), np.random.rand(3), random.random())
    torch.set_rng_state(before.torch_rng)
    np.random.set_state(before.numpy_rng)
    random.setstate(before.python_rng)
    try:
        torch.manual_seed(1234)
        np.random.seed(5)
        random.seed(6)
        torch.set_num_threads(1 if before.threads != 1 else 2)
        torch.use_deterministic_algorithms(not before.deterministic)
        torch.set_default_dtype(torch.float64 if before.default_dtype != torch.float64 else torch.float32)
        torch.set_grad_enabled(not before.grad_enabled)
        torch.set_float32_matmul_precision("medium" if before.matmul_precision != "medium" else "high")
        torch.backends.cudnn.benchmark = not before.cudnn[0]
        sys.setswitchinterval(before.switch_interval * 2)
        assert torch.get_num_threads() != before.threads and torch.get_default_dtype() != before.default_dtype
    finally:
        before.restore()
    after = ProcessState.capture()
    assert (after.threads, after.deterministic, after.default_dtype, after.grad_enabled, after.matmul_precision,
            after.cudnn, after.switch_interval) == (before.threads, before.deterministic, before.default_dtype,
                                                    before.grad_enabled, before.matmul_precision, before.cudnn,
                                                    before.switch_interval)
    # the same draws as before the "job": every generator is back where it was
    assert torch.equal(torch.rand(3), draws[0]) and np.array_equal(np.random.rand(3), draws[1])
    assert random.random() == draws[2]
