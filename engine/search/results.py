"""A search's results from its state: per-candidate rows with costs, the best-so-far curve,
and exports (table text, CSV, JSON). The picture is :mod:`.plot`'s."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.search.reader import CandidateState, Goal, Params, StateReader, TaskRow, Value
from engine.units import format_eth

FEES_WEI = 0   # no protocol fee beyond the payment (v2's verification fee is inside it) and gas


@dataclass(frozen=True)
class Row:
    candidate: int
    arch: str
    params: dict[str, Any]     # the searched parameters of its architecture (those with a choice)
    state: str
    value: float | None
    tasks: list[int]
    worker: str | None
    reward_wei: int          # payments escrowed less refunds (a cancel's payment, v2: a closed audit's unearned fee)
    fees_wei: int
    gas_wei: int
    seconds: float | None    # from the start of the search to its result
    spec_sha256: str

    @property
    def cost_wei(self) -> int:
        return self.reward_wei + self.fees_wei + self.gas_wei


@dataclass(frozen=True)
class Report:
    space: str
    metric: str
    goal: Goal
    rows: list[Row]

    @property
    def done(self) -> list[Row]:
        return sorted((r for r in self.rows if r.value is not None), key=lambda r: r.seconds or 0.0)

    @property
    def best(self) -> Row | None:
        done = self.done
        if not done:
            return None
        pick = max if self.goal == Goal.MAXIMIZE else min
        return pick(done, key=lambda r: r.value or 0.0)

    def curve(self) -> list[tuple[int, float, float]]:
        """(candidates evaluated, seconds, best so far) after each result."""
        out: list[tuple[int, float, float]] = []
        best: float | None = None
        for i, row in enumerate(self.done, 1):
            assert row.value is not None
            if best is None or (row.value > best if self.goal == Goal.MAXIMIZE else row.value < best):
                best = row.value
            out.append((i, row.seconds or 0.0, best))
        return out

    def totals(self) -> dict[str, int]:
        return {"reward_wei": sum(r.reward_wei for r in self.rows), "fees_wei": sum(r.fees_wei for r in self.rows),
                "gas_wei": sum(r.gas_wei for r in self.rows), "cost_wei": sum(r.cost_wei for r in self.rows)}


class SpaceLike(Protocol):
    """What a report needs of a space: :class:`engine.search.space.SearchSpace`, or the
    :class:`engine.search.reader.SpaceView` the app reads from a state file."""

    @property
    def name(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def goal(self) -> Goal: ...
    def parameters(self) -> dict[str, list[Value]]: ...
    def effective(self, params: Mapping[str, Value]) -> Params: ...


def build_report(space: SpaceLike, state: StateReader) -> Report:
    """Every candidate with its costs; ``state`` may be the coordinator's or a read-only one."""
    started = float(state.meta("started_at") or 0.0)
    searched = {k for k, values in space.parameters().items() if len(values) > 1 and k != "arch"}
    by_candidate: dict[int, list[TaskRow]] = {}
    for task in state.tasks():                              # one query, not one per candidate
        by_candidate.setdefault(task.candidate_id, []).append(task)
    rows = []
    for c in state.candidates():
        tasks = by_candidate.get(c.id, [])
        eff = space.effective(c.params)
        rows.append(Row(
            candidate=c.id, arch=str(eff["arch"]), params={k: v for k, v in eff.items() if k in searched},
            state=c.state.value, value=c.value if c.state == CandidateState.DONE else None,
            tasks=[t.task_id for t in tasks], worker=c.worker,
            reward_wei=sum(t.reward - t.refund for t in tasks), fees_wei=FEES_WEI * len(tasks),
            gas_wei=sum(t.gas for t in tasks), seconds=(c.done_at - started) if c.done_at else None,
            spec_sha256=c.spec_sha))
    return Report(space.name, space.metric, space.goal, rows)


def table(report: Report, *, limit: int | None = None) -> str:
    """Candidates best first (then those without a result), as aligned text."""
    reverse = report.goal == Goal.MAXIMIZE
    ranked = sorted(report.done, key=lambda r: r.value or 0.0, reverse=reverse)
    rest = [r for r in report.rows if r.value is None]
    lines = [("#", "CAND", "ARCH", report.metric.upper(), "STATE", "TASKS", "COST ETH", "CHOICES")]
    for rank, row in enumerate([*ranked, *rest][:limit], 1):
        lines.append((str(rank) if row.value is not None else "-", str(row.candidate), row.arch,
                      f"{row.value:.4f}" if row.value is not None else "-", row.state,
                      ",".join(map(str, row.tasks)) or "-", format_eth(row.cost_wei),
                      " ".join(f"{k.split('.')[-1]}={v}" for k, v in row.params.items())))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["candidate", "arch", "params", "state", report.metric, "tasks", "worker", "reward_wei",
                     "fees_wei", "gas_wei", "cost_wei", "seconds", "spec_sha256"])
    for r in report.rows:
        writer.writerow([r.candidate, r.arch, json.dumps(r.params, sort_keys=True), r.state,
                         "" if r.value is None else r.value, " ".join(map(str, r.tasks)), r.worker or "",
                         r.reward_wei, r.fees_wei, r.gas_wei, r.cost_wei,
                         "" if r.seconds is None else round(r.seconds, 3), r.spec_sha256])
    return out.getvalue()


def to_json(report: Report) -> dict[str, Any]:
    best = report.best
    return {"space": report.space, "metric": report.metric, "goal": report.goal.value,
            "best": None if best is None else {**asdict(best), "cost_wei": best.cost_wei},
            "totals": report.totals(), "curve": [list(p) for p in report.curve()],
            "candidates": [{**asdict(r), "cost_wei": r.cost_wei} for r in report.rows]}


def json_text(report: Report) -> str:
    """``results.json``'s text (the app's Export JSON writes the same)."""
    return json.dumps(to_json(report), indent=2) + "\n"


def write_exports(report: Report, folder: Path) -> dict[str, Path]:
    """results.csv, results.json and best-fitness.png in ``folder``; their paths."""
    from engine.search.plot import plot

    paths = {"csv": folder / "results.csv", "json": folder / "results.json", "png": folder / "best-fitness.png"}
    paths["csv"].write_text(to_csv(report), encoding="utf-8")
    paths["json"].write_text(json_text(report), encoding="utf-8")
    plot(report, paths["png"])
    return paths
