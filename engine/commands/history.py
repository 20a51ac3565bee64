"""``idlegrid history``: the jobs this machine took part in, as a table or JSON.

Reads the same SQLite file the worker writes (WAL: safe while it runs). A missing file is an
empty history and is not created by looking at it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.commands.options import history_db_options

if TYPE_CHECKING:
    from engine.history.records import JobRecord

ROLES = ("worker", "verifier", "requester")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "history", parents=[history_db_options()], help="the jobs this machine worked on, verified or posted",
        description="List jobs newest first: task, role, name, state, outcome, steps, loss, reward, gas "
        "and last update. Wei amounts are shown in ETH (in --json: exact wei as decimal strings).",
    )
    p.add_argument("--role", choices=ROLES, help="only jobs of this role")
    p.add_argument("--state", metavar="STATE", help="only jobs in this state (e.g. training, committed, paid)")
    p.add_argument("--search", metavar="TEXT", help="only jobs whose name, state, outcome, hash or id matches TEXT")
    p.add_argument("--limit", type=int, default=100, metavar="N", help="at most N jobs (default 100)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.errors import UsageError
    from engine.history import History, default_path

    if args.limit < 1:
        raise UsageError(f"--limit {args.limit} must be at least 1")
    path = args.db or default_path()
    if not path.exists():
        if args.db is not None:
            raise UsageError(f"--db {path} does not exist", hint="give the path of a history.sqlite3 file")
        return _show([], args, path, any_jobs=False)
    if path.is_dir():
        raise UsageError(f"--db {path} is a folder", hint="give the path of a history.sqlite3 file")
    history = History.open_read_only(path)  # a read never writes, not even a schema into an empty file
    if history is None:
        return _show([], args, path, any_jobs=False)
    with history:
        found = history.jobs(role=args.role, state=args.state, search=args.search, limit=args.limit)
        any_jobs = bool(found) or bool(history.jobs(limit=1))
    return _show(found, args, path, any_jobs=any_jobs)


def _show(found: list[JobRecord], args: argparse.Namespace, path: Path, *, any_jobs: bool) -> int:
    from engine.history.report import JOB_HEADER, job_row, short_address, table

    if args.json:
        print(json.dumps([job.to_json() for job in found], indent=2))
        return 0
    if not any_jobs:
        print(f"no jobs yet: the history ({path}) fills as `idlegrid worker`, `idlegrid verifier` "
              "or `idlegrid requester post` run")
        return 0
    if not found:
        print(f"no jobs match {_filters(args)} (run `idlegrid history` without filters to see them all)")
        return 0
    networks = {(job.chain_id, job.market) for job in found}
    header: tuple[str, ...] = JOB_HEADER
    rows = [job_row(job) for job in found]
    if len(networks) > 1:  # say which network each job was on only when it differs
        header = (*JOB_HEADER, "NETWORK")
        rows = [(*row, f"{job.chain_id}:{short_address(job.market)}") for row, job in zip(rows, found)]
    for line in table([header, *rows]):
        print(line)
    return 0


def _filters(args: argparse.Namespace) -> str:
    parts = [f"--{name} {value}" for name, value in (("role", args.role), ("state", args.state),
                                                     ("search", args.search)) if value]
    return " ".join(parts)
