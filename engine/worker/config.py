"""The worker's knobs: the ``[worker]`` settings section and the config the worker runs with.

What a task must pay and how fast this machine trains are the user's business, so they live
in the settings file (validated strictly: a typo names the key); the CLI flags
(``--auto-withdraw``, ``--ignore-idle``, ``--max-tasks``) override them for one run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.config import load_section, paths

SECTION = "worker"
# What a machine trains when nothing better is known (FLOP/s as engine.tasks.estimate counts
# them): deliberately low, so a first estimate errs towards "takes longer".
DEFAULT_CPU_FLOPS = 2e9
DEFAULT_GPU_FLOPS = 2e12


class WorkerSettings(BaseModel):
    """``[worker]`` in the settings file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_wei_per_hour: int = Field(0, ge=0)
    flops_per_second: float | None = Field(None, gt=0)
    max_memory_mb: int | None = Field(None, gt=0)
    auto_withdraw: bool = False
    device: Literal["auto", "cpu", "cuda"] = "auto"
    deadline_margin: float = Field(2.0, ge=1.0, le=100.0)
    warm_runner: bool = True
    max_gas_share: float = Field(0.25, gt=0.0, le=1.0)  # skip a task whose gas would eat more of its reward


@dataclass(frozen=True)
class WorkerConfig:
    """How one worker runs. ``flops_per_second`` None: measured after each job, with a
    per-device default before the first; ``deadline_margin``: a task is claimed only when
    the estimate times this margin fits the task's training timeout and the spec's
    ``limits.max_seconds``; ``max_tasks`` None: no limit."""

    min_wei_per_hour: int = 0
    flops_per_second: float | None = None
    max_memory_mb: int | None = None
    auto_withdraw: bool = False
    ignore_idle: bool = False
    max_tasks: int | None = None
    device: str = "auto"
    deadline_margin: float = 2.0
    poll_s: float = 2.0  # the longest idle wait between turns (the chain is re-read after it)
    follow_s: float = 1.0  # while idle, how often the market's log filter is asked for new events (each ask
    # costs the idle service ~1.5 ms of CPU in web3: 0.2 s made it 0.87 % of a core, over the 0.5 % budget)
    controller_poll_s: float = 0.2
    progress_every_s: float = 0.5
    max_spec_bytes: int = 1_000_000
    jobs_dir: Path | None = None
    blob_cache_dir: Path | None = None
    max_gas_share: float = 0.25  # engine/network/gas.py: wait while a job's gas is over this share of its reward
    warm_runner: bool = True  # keep one runner with torch loaded, ready to train (engine/runner/pool.py)

    @classmethod
    def from_settings(cls, **overrides: object) -> WorkerConfig:
        """The ``[worker]`` section, with ``overrides`` (CLI flags) on top."""
        s = load_section(SECTION, WorkerSettings)
        config = cls(min_wei_per_hour=s.min_wei_per_hour, flops_per_second=s.flops_per_second,
                     max_memory_mb=s.max_memory_mb, auto_withdraw=s.auto_withdraw, device=s.device,
                     deadline_margin=s.deadline_margin, warm_runner=s.warm_runner,
                     max_gas_share=s.max_gas_share)
        return replace(config, **overrides)  # type: ignore[arg-type]

    def jobs_root(self) -> Path:
        return self.jobs_dir or paths().jobs_dir

    def blobs_root(self) -> Path:
        """Where dataset blobs are cached; handed to the runner as its blobs folder."""
        return self.blob_cache_dir or paths().cache_dir / "worker-blobs"
