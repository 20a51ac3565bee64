"""Plain-text renderings of history records for the CLI (Qt-free, so any front end may reuse them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine.history.records import JobRecord
from engine.units import format_eth


def eth(wei: int | None, digits: int = 6) -> str:
    """Wei as ether with up to ``digits`` decimals, trailing zeros dropped: ``1.5``, ``0``, ``<0.000001``."""
    if wei is None:
        return "-"
    return format_eth(wei, digits=digits)


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


def steps(job: JobRecord) -> str:
    if not job.steps:
        return "-"
    return f"{job.steps_done or 0}/{job.steps}"


def loss_and_metric(job: JobRecord) -> str:
    """The final loss, and accuracy (or else the first metric) when the job reported one."""
    parts = [] if job.loss is None else [f"{job.loss:.4f}"]
    if job.metrics:
        name = "accuracy" if "accuracy" in job.metrics else sorted(job.metrics)[0]
        value = job.metrics[name]
        label = "acc" if name == "accuracy" else name
        parts.append(f"{label} {value:.4g}" if isinstance(value, (int, float)) else f"{label} {value}")
    return " ".join(parts) or "-"


JOB_HEADER = ("TASK", "ROLE", "NAME", "STATE", "OUTCOME", "STEPS", "LOSS/METRIC", "REWARD ETH", "GAS ETH", "UPDATED")


def job_row(job: JobRecord) -> tuple[str, ...]:
    return (str(job.task_id), job.role, job.name or "-", job.state, job.outcome or "-", steps(job),
            loss_and_metric(job), eth(job.reward), eth(job.gas_paid), when(job.updated_at))


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
