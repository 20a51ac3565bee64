"""``idlegrid status | pause | resume | snooze | withdraw``: commands for the running engine service.

Each sends one request over the service's control API and prints its answer; with no
service running they say so and how to start one (exit code 3).
"""

from __future__ import annotations

import argparse
import json
import re
from decimal import Decimal
from typing import Any

from engine.errors import UsageError

DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("status", help="what the engine service is doing (state, job, progress)",
                              description="Ask the running engine service what it does.")
    p.add_argument("--json", action="store_true", help="print the service's answer as JSON")
    p.set_defaults(func=_status)
    p = subparsers.add_parser("pause", help="pause the engine service (the job checkpoints) until `resume`")
    p.add_argument("--reason", default="paused by you", help="shown in the app and in `idlegrid status`")
    p.set_defaults(func=lambda a: _command("pause", reason=a.reason))
    p = subparsers.add_parser("resume", help="end a pause or snooze of the engine service")
    p.set_defaults(func=lambda a: _command("resume"))
    p = subparsers.add_parser("snooze", help="pause the engine service for a while (e.g. 30m, 2h), or --end it",
                              description="Pause for DURATION (seconds, or with a unit: 90s, 30m, 2h, 1d; at "
                              "most a week), then go on by itself. --end ends a snooze now.")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("duration", nargs="?", help="how long: 3600, 90s, 30m, 2h, 1d")
    group.add_argument("--end", action="store_true", help="end the snooze now")
    p.set_defaults(func=_snooze)
    p = subparsers.add_parser("withdraw", help="send your earned credits on the market to your wallet",
                              description="Ask the engine service to withdraw this account's credits; prints the "
                              "transaction hash once it is mined.")
    p.set_defaults(func=_withdraw)


def parse_duration(text: str) -> float:
    """``30m`` -> 1800.0; a UsageError naming the format otherwise."""
    match = DURATION.match(text.strip().lower())
    if match is None or float(match.group(1)) <= 0:
        raise UsageError(f"snooze: {text!r} is not a duration", hint="use seconds or a unit: 90s, 30m, 2h, 1d")
    return float(match.group(1)) * UNIT_S[match.group(2)]


def _command(command: str, **fields: Any) -> int:
    from engine.service.client import request

    print(status_text(request(command, **fields)))
    return 0


def _status(args: argparse.Namespace) -> int:
    from engine.service.client import request

    status = request("status")
    print(json.dumps(status, indent=2) if args.json else status_text(status))
    return 0


def _snooze(args: argparse.Namespace) -> int:
    if args.end:
        return _command("end_snooze")
    return _command("snooze", seconds=parse_duration(args.duration))


def _withdraw(args: argparse.Namespace) -> int:
    from engine.service.client import request

    print(f"withdrawn: transaction {request('withdraw')['tx_hash']}")
    return 0


def status_text(status: dict[str, Any]) -> str:
    """The human form of a status answer (also what pause/resume/snooze print)."""
    lines = [f"engine service: running (pid {status.get('pid')}, up {_duration(float(status.get('uptime_s') or 0))})",
             f"state: {status.get('state')}: {status.get('reason')}"]
    job = status.get("job")
    if job:
        line = f"job: task {job.get('task_id')} {job.get('task_name') or ''}".rstrip()
        if job.get("steps"):
            step, steps = int(job.get("step") or 0), int(job["steps"])
            line += f", step {step}/{steps} ({100 * step / steps:.0f}%)"
        if job.get("loss") is not None:
            line += f", loss {float(job['loss']):.4f}"
        if job.get("eta_s") is not None:
            line += f", {_duration(float(job['eta_s']))} left"
        lines.append(line)
    network = status.get("network")
    if network:
        lines.append(f"network: chain {network.get('chain_id')}, market {network.get('market')}"
                     + (" (local devnet)" if network.get("devnet") else ""))
    earnings = status.get("earnings")
    if earnings:
        lines.append("earnings: " + ", ".join(f"{k} {_eth(v)}" for k, v in earnings.items()
                                              if k in ("pending", "claimable", "withdrawn")))
    return "\n".join(lines)


def _eth(wei: Any) -> str:
    try:
        text = f"{Decimal(int(wei)).scaleb(-18):f}"
    except (TypeError, ValueError):
        return "?"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + " ETH"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
