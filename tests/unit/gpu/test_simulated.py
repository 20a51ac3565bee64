"""The simulated backend: timeline files, their errors, and a scripted evening through the policy."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from engine.gpu.errors import GpuError, TimelineError
from engine.gpu.policy import Action, IdlePolicy, Rule
from engine.gpu.settings import PolicySettings
from engine.gpu.simulated import ManualClock, SimulatedBackend, at, load_timeline

from .helpers import MONDAY_NOON

EVENING = Path(__file__).parent / "timelines" / "gamer_evening.toml"


def test_curves_interpolate_linearly_and_hold_at_the_ends():
    curve = [(10.0, 0.0), (20.0, 100.0), (20.0, 50.0)]
    assert [at(curve, t) for t in (0, 10, 15, 20, 99)] == [0.0, 0.0, 50.0, 100.0, 50.0]


def test_snapshot_follows_the_timeline_and_the_injected_clock():
    clock = ManualClock(500.0)
    sim = SimulatedBackend.from_file(EVENING, clock=clock)
    clock.advance(130)
    dev = sim.snapshot(own_pids={77}).devices[0]
    assert sim.snapshot().taken_at == 630.0
    assert [(p.name, p.used_mib, p.own) for p in dev.processes] == [
        ("steam_game", 3000, False),
        ("idlegrid-runner", 2048, True),
    ]
    assert dev.memory_used_mib == 400 + 3000 + 2048
    assert dev.foreign_utilization_pct == 73.0
    assert dev.utilization_pct == 100.0
    assert dev.temperature_c == 45.0
    clock.advance(470)  # t = 600: the game has quit
    assert sim.snapshot().devices[0].processes == ()


def test_a_scripted_evening_gives_the_expected_decisions():
    clock = ManualClock()
    sim = SimulatedBackend.from_file(EVENING, clock=clock)
    policy = IdlePolicy(PolicySettings(resume_after_s=60, blip_s=10))
    seen: list[tuple[int, Action, Rule, str]] = []
    for t in range(0, 1500, 10):
        clock.now = float(t)
        d = policy.decide(sim.snapshot(own_pids={77}), 3600.0, False, MONDAY_NOON + timedelta(seconds=t))
        if not seen or (seen[-1][1], seen[-1][2]) != (d.action, d.rule):
            seen.append((t, d.action, d.rule, d.reason))
    assert seen == [
        (0, Action.RUN, Rule.IDLE, "running: user idle for 60 min"),
        (120, Action.PAUSE, Rule.FOREIGN_PROCESS, "paused: steam_game uses the GPU"),
        # the game quit at 600 (last seen at 590); its 70 % load must also have been gone 60 s
        (
            650,
            Action.PAUSE,
            Rule.FOREIGN_UTILIZATION,
            "paused: others used the GPU until 50 s ago; resuming after 60 s",
        ),
        (660, Action.RUN, Rule.IDLE, "running: user idle for 60 min"),
        # the render at 900 is tolerated as a blip for 10 s, then pauses; calm from 1010
        (910, Action.PAUSE, Rule.FOREIGN_UTILIZATION, "paused: others use 60 % of the GPU (limit 15 %)"),
        (1070, Action.RUN, Rule.IDLE, "running: user idle for 60 min"),
        # heat: pause at >= 83 °C, resume at <= 78 °C
        (1290, Action.PAUSE, Rule.TEMPERATURE, "paused: GPU at 86 °C (ceiling 83 °C)"),
        (1380, Action.RUN, Rule.IDLE, "running: user idle for 60 min"),
    ]


def test_json_timelines_are_read_too(tmp_path: Path):
    f = tmp_path / "t.json"
    f.write_text(json.dumps({"process": [{"name": "game", "mib": 100, "start": 5}], "temperature": [[0, 60]]}))
    clock = ManualClock()
    sim = SimulatedBackend(load_timeline(f), clock=clock)
    clock.advance(5)
    assert sim.snapshot().devices[0].processes[0].name == "game"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("utilization = [[0, 3]\n", "is not valid TOML"),
        ("[device]\nmemory_total_mib = 0\n", "device.memory_total_mib: Input should be greater than 0"),
        ("[[process]]\nname = 'x'\nmib = -5\n", "process[0].mib: Input should be greater than or equal to 0"),
        (
            "[[process]]\nname = 'x'\nstart = 50\nstop = 10\n",
            "process[0]: Value error, stop (10) must come after start (50)",
        ),
        ("temperature = [[10, 40], [5, 50]]\n", "temperature: Value error, points must be in time order"),
        ("temperature = []\n", "temperature: Value error, needs at least one [t, value] point"),
        ("utilisation = [[0, 1]]\n", "utilisation: Extra inputs are not permitted"),
        ("[[process]]\nname = 'x'\nkind = 'video'\n", "process[0].kind: Input should be 'compute' or 'graphics'"),
    ],
)
def test_bad_timelines_name_the_file_and_the_field(tmp_path: Path, text: str, problem: str):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(TimelineError) as e:
        load_timeline(f)
    assert str(e.value).startswith(f"timeline {f}: {problem}")
    assert isinstance(e.value, GpuError)
    assert e.value.exit_code == 2


def test_a_missing_timeline_says_where_to_fix_it(tmp_path: Path):
    with pytest.raises(TimelineError, match=r"file not found\n  hint: check the path in \[gpu\] backend"):
        load_timeline(tmp_path / "nope.toml")
