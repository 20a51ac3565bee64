"""Decision tables for the idle policy: every rule, their order, hysteresis and dwell."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.gpu.monitor import DeviceSnapshot, GpuSnapshot, NoGpu
from engine.gpu.policy import Action, IdlePolicy, Rule
from engine.gpu.settings import AllowedHours, PolicySettings

from .helpers import MONDAY_NOON, proc, snap

IDLE = 3600.0  # an hour without input
RUNS = "running: user idle for 60 min"
UNKNOWN = "waiting: cannot tell how long you have been idle (unknown_idle = treat_as_active)"


def policy(**settings: object) -> IdlePolicy:
    return IdlePolicy(PolicySettings.model_validate(settings))


# -- single rules ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings", "snapshot", "idle", "battery", "action", "rule", "reason"),
    [
        ({}, snap(), IDLE, False, Action.RUN, Rule.IDLE, RUNS),
        (
            {"run_when": "always"},
            snap(),
            0.0,
            None,
            Action.RUN,
            Rule.ALWAYS,
            "running: allowed at any time (the Always preset)",
        ),
        (
            {},
            snap(),
            120.0,
            False,
            Action.WAIT,
            Rule.USER_ACTIVE,
            "waiting: user active 2 min ago (runs after 5 min idle)",
        ),
        (
            {},
            snap(),
            0.0,
            False,
            Action.WAIT,
            Rule.USER_ACTIVE,
            "waiting: user active just now (runs after 5 min idle)",
        ),
        ({"idle_minutes": 2}, snap(), 120.0, False, Action.RUN, Rule.IDLE, "running: user idle for 2 min"),
        ({}, snap(), None, False, Action.WAIT, Rule.USER_ACTIVE, UNKNOWN),
        (
            {"unknown_idle": "treat_as_idle"},
            snap(),
            None,
            False,
            Action.RUN,
            Rule.IDLE,
            "running: idle time unknown, treated as idle",
        ),
        (
            {},
            snap(proc("steam_game", 3000)),
            IDLE,
            False,
            Action.PAUSE,
            Rule.FOREIGN_PROCESS,
            "paused: steam_game uses the GPU",
        ),
        (
            {},
            snap(proc("steam_game", None)),
            IDLE,
            False,
            Action.PAUSE,
            Rule.FOREIGN_PROCESS,
            "paused: steam_game uses the GPU",
        ),
        ({}, snap(proc("tiny", 10)), IDLE, False, Action.RUN, Rule.IDLE, RUNS),
        ({}, snap(proc("Xorg", 900)), IDLE, False, Action.RUN, Rule.IDLE, RUNS),
        ({"allow_processes": ["blender*"]}, snap(proc("Blender-4.1", 900)), IDLE, False, Action.RUN, Rule.IDLE, RUNS),
        ({"pause_on_foreign_process": False}, snap(proc("steam_game", 3000)), IDLE, False, Action.RUN, Rule.IDLE, RUNS),
        (
            {"deny_processes": ["obs"]},
            snap(proc("obs", 1)),
            IDLE,
            False,
            Action.PAUSE,
            Rule.DENY_LIST,
            "paused: obs uses the GPU (deny-listed)",
        ),
        (
            {"deny_processes": ["obs"], "pause_on_foreign_process": False},
            snap(proc("OBS", 1)),
            IDLE,
            False,
            Action.PAUSE,
            Rule.DENY_LIST,
            "paused: OBS uses the GPU (deny-listed)",
        ),
        (
            {"deny_processes": ["Xorg"]},
            snap(proc("Xorg", 900)),
            IDLE,
            False,
            Action.PAUSE,
            Rule.DENY_LIST,
            "paused: Xorg uses the GPU (deny-listed)",
        ),
        ({}, snap(proc("runner", 4000, own=True)), IDLE, False, Action.RUN, Rule.IDLE, RUNS),
        (
            {},
            snap(util=40.0),
            IDLE,
            False,
            Action.PAUSE,
            Rule.FOREIGN_UTILIZATION,
            "paused: others use 40 % of the GPU (limit 15 %)",
        ),
        ({}, snap(util=None), IDLE, False, Action.RUN, Rule.IDLE, RUNS),
        ({}, snap(), IDLE, True, Action.PAUSE, Rule.BATTERY, "paused: on battery"),
        ({"pause_on_battery": False}, snap(), IDLE, True, Action.RUN, Rule.IDLE, RUNS),
        ({}, snap(), IDLE, None, Action.RUN, Rule.IDLE, RUNS),
        ({}, snap(temp=86.0), IDLE, False, Action.PAUSE, Rule.TEMPERATURE, "paused: GPU at 86 °C (ceiling 83 °C)"),
        ({}, snap(temp=83.0), IDLE, False, Action.PAUSE, Rule.TEMPERATURE, "paused: GPU at 83 °C (ceiling 83 °C)"),
        ({}, snap(temp=82.9), IDLE, False, Action.RUN, Rule.IDLE, RUNS),
        ({}, snap(temp=None), IDLE, False, Action.RUN, Rule.IDLE, RUNS),
    ],
)
def test_single_rule_decides(settings, snapshot, idle, battery, action, rule, reason):
    d = policy(**settings).decide(snapshot, idle, battery, MONDAY_NOON)
    assert (d.action, d.rule, d.reason) == (action, rule, reason)


def test_no_gpu_waits_with_the_backend_reason():
    snapshot = GpuSnapshot("none", 0.0, (), NoGpu("no NVIDIA driver found (libnvidia-ml.so.1 not loadable)"))
    d = policy().decide(snapshot, IDLE, False, MONDAY_NOON)
    assert (d.action, d.rule) == (Action.WAIT, Rule.NO_GPU)
    assert d.reason == "waiting: no GPU: no NVIDIA driver found (libnvidia-ml.so.1 not loadable)"


def test_missing_device_index_is_named():
    d = IdlePolicy(PolicySettings(), device=1).decide(snap(), IDLE, False, MONDAY_NOON)
    assert d.reason == "waiting: no GPU: GPU 1 not found (1 devices)"


# -- priority and combinations --------------------------------------------------------------
@pytest.mark.parametrize(
    ("snapshot", "idle", "battery", "first", "blocking"),
    [
        (
            snap(proc("game"), temp=90.0),
            0.0,
            True,
            Rule.FOREIGN_PROCESS,
            (Rule.FOREIGN_PROCESS, Rule.BATTERY, Rule.TEMPERATURE, Rule.USER_ACTIVE),
        ),
        (snap(temp=90.0), 0.0, True, Rule.BATTERY, (Rule.BATTERY, Rule.TEMPERATURE, Rule.USER_ACTIVE)),
        (snap(temp=90.0), 0.0, False, Rule.TEMPERATURE, (Rule.TEMPERATURE, Rule.USER_ACTIVE)),
        (snap(util=50.0), 0.0, False, Rule.FOREIGN_UTILIZATION, (Rule.FOREIGN_UTILIZATION, Rule.USER_ACTIVE)),
        (
            snap(proc("game"), util=50.0),
            IDLE,
            False,
            Rule.FOREIGN_PROCESS,
            (Rule.FOREIGN_PROCESS, Rule.FOREIGN_UTILIZATION),
        ),
    ],
)
def test_first_blocking_rule_gives_the_reason_and_all_are_listed(snapshot, idle, battery, first, blocking):
    d = policy().decide(snapshot, idle, battery, MONDAY_NOON)
    assert d.rule == first
    assert d.blocking == blocking


def test_hard_pause_for_foreign_use_and_soft_for_heat():
    assert policy().decide(snap(proc("game")), IDLE, False, MONDAY_NOON).hard
    assert not policy().decide(snap(temp=90.0), IDLE, False, MONDAY_NOON).hard
    assert not policy().decide(snap(), 0.0, False, MONDAY_NOON).hard


@pytest.mark.parametrize("blocker", ["game", "battery", "heat", "active", "no_gpu"])
def test_manual_pause_overrides_everything(blocker):
    p = policy(run_when="always")
    snapshot = {
        "game": snap(proc("game")),
        "heat": snap(temp=99.0),
        "no_gpu": GpuSnapshot("none", 0.0, (), NoGpu("x")),
    }.get(blocker, snap())
    p.pause()
    d = p.decide(snapshot, 0.0 if blocker == "active" else IDLE, blocker == "battery", MONDAY_NOON)
    assert (d.action, d.rule, d.reason, d.hard) == (Action.PAUSE, Rule.MANUAL, "paused by you", True)
    p.resume()  # the other rules apply again, their dwell times included
    assert p.decide(snap(), IDLE, False, MONDAY_NOON + timedelta(minutes=2)).action is Action.RUN


def test_manual_pause_outranks_snooze():
    p = policy()
    p.snooze_for(MONDAY_NOON)
    p.pause()
    assert p.decide(snap(), IDLE, False, MONDAY_NOON).rule is Rule.MANUAL


# -- snooze --------------------------------------------------------------------------------
def test_snooze_one_hour_expires_on_time():
    p = policy()
    until = p.snooze_for(MONDAY_NOON.replace(minute=5) - timedelta(hours=1))
    assert until == MONDAY_NOON.replace(minute=5)
    d = p.decide(snap(), IDLE, False, MONDAY_NOON)
    assert (d.action, d.rule, d.reason) == (Action.PAUSE, Rule.SNOOZE, "snoozed until 12:05")
    assert p.decide(snap(), IDLE, False, until - timedelta(seconds=1)).rule is Rule.SNOOZE
    assert p.decide(snap(), IDLE, False, until).action is Action.RUN
    assert p.snoozed_until is None


def test_snooze_until_tomorrow_at_the_set_hour():
    p = policy(snooze_until_hour=7)
    until = p.snooze_until_tomorrow(MONDAY_NOON)
    assert until == datetime(2024, 1, 2, 7, 0, tzinfo=UTC)
    assert p.decide(snap(), IDLE, False, MONDAY_NOON).reason == "snoozed until tomorrow 07:00"
    assert p.decide(snap(), IDLE, False, until).action is Action.RUN


def test_snooze_until_a_custom_time_days_away():
    p = policy()
    p.snooze(datetime(2024, 1, 4, 9, 30, tzinfo=UTC))
    assert p.decide(snap(), IDLE, False, MONDAY_NOON).reason == "snoozed until Thu 09:30"


def test_snooze_takes_naive_local_times():
    p = policy()
    now = datetime(2024, 1, 1, 12, 0)
    p.snooze_for(now, 600)
    assert p.decide(snap(), IDLE, False, now).reason == "snoozed until 12:10"
    assert p.decide(snap(), IDLE, False, now + timedelta(minutes=10)).action is Action.RUN


# -- dwell and hysteresis ---------------------------------------------------------------------
def run_ticks(p: IdlePolicy, ticks: list[tuple[float, object]], start=MONDAY_NOON) -> list[tuple[float, Action, str]]:
    out = []
    for t, snapshot in ticks:
        d = p.decide(snapshot, IDLE, False, start + timedelta(seconds=t))
        out.append((t, d.action, d.reason))
    return out


def test_foreign_process_pauses_at_once_and_resumes_after_it_was_gone_long_enough():
    p = policy(resume_after_s=60)
    game = snap(proc("steam_game", 3000))
    got = run_ticks(p, [(0, snap()), (5, game), (10, game), (11, snap()), (69, snap()), (70, snap())])
    assert got == [  # "gone" counts from the last snapshot that still showed it
        (0, Action.RUN, "running: user idle for 60 min"),
        (5, Action.PAUSE, "paused: steam_game uses the GPU"),
        (10, Action.PAUSE, "paused: steam_game uses the GPU"),
        (11, Action.PAUSE, "paused: steam_game left the GPU 1 s ago; resuming after 60 s"),
        (69, Action.PAUSE, "paused: steam_game left the GPU 59 s ago; resuming after 60 s"),
        (70, Action.RUN, "running: user idle for 60 min"),
    ]


def test_foreign_process_returning_restarts_the_dwell():
    p = policy(resume_after_s=30)
    game = snap(proc("game"))
    got = run_ticks(p, [(0, game), (10, snap()), (30, game), (50, snap()), (59, snap()), (60, snap())])
    assert [a for _, a, _ in got] == [Action.PAUSE] * 5 + [Action.RUN]


def test_utilization_blip_does_not_pause_running_work():
    p = policy(blip_s=10, resume_after_s=20)
    busy = snap(util=60.0)
    got = run_ticks(p, [(0, snap()), (1, busy), (5, busy), (6, snap()), (7, busy), (16, busy), (17, busy)])
    assert [a for _, a, _ in got] == [Action.RUN] * 6 + [Action.PAUSE]
    assert got[-1][2] == "paused: others use 60 % of the GPU (limit 15 %)"


def test_utilization_pause_needs_calm_for_resume_after_s():
    p = policy(blip_s=0, resume_after_s=20)
    got = run_ticks(p, [(0, snap(util=60.0)), (1, snap(util=5.0)), (15, snap(util=5.0)), (21, snap(util=5.0))])
    assert [a for _, a, _ in got] == [Action.PAUSE, Action.PAUSE, Action.PAUSE, Action.RUN]
    assert got[2][2] == "paused: others used the GPU until 14 s ago; resuming after 20 s"


def test_high_utilization_blocks_a_start_without_waiting_for_blip():
    p = policy(blip_s=30)
    p.decide(snap(), 0.0, False, MONDAY_NOON)  # waiting for the user, not running
    d = p.decide(snap(util=60.0), IDLE, False, MONDAY_NOON + timedelta(seconds=1))
    assert d.rule is Rule.FOREIGN_UTILIZATION


@pytest.mark.parametrize(
    ("temps", "actions"),
    [
        ([70, 83, 80, 79, 78, 80, 82], ["run", "pause", "pause", "pause", "run", "run", "run"]),
        ([86, 77, 84], ["pause", "run", "pause"]),
        ([82, 82.9, 70], ["run", "run", "run"]),
    ],
)
def test_temperature_hysteresis(temps, actions):
    p = policy(temperature_ceiling_c=83, temperature_hysteresis_c=5)
    got = run_ticks(p, [(i, snap(temp=t)) for i, t in enumerate(temps)])
    assert [a.value for _, a, _ in got] == actions


def test_temperature_cooling_reason():
    p = policy()
    p.decide(snap(temp=86.0), IDLE, False, MONDAY_NOON)
    assert (
        p.decide(snap(temp=80.0), IDLE, False, MONDAY_NOON).reason
        == "paused: GPU cooling down, 80 °C (resumes at 78 °C)"
    )


def test_user_returning_stops_work_at_once():
    p = policy()
    assert p.decide(snap(), IDLE, False, MONDAY_NOON).action is Action.RUN
    d = p.decide(snap(), 3.0, False, MONDAY_NOON + timedelta(seconds=5))
    assert (d.action, d.rule) == (Action.WAIT, Rule.USER_ACTIVE)


# -- VRAM -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("share", "used", "own", "need", "action", "reason"),
    [
        (0.5, 1000, 0, 3000, Action.RUN, None),
        (
            0.5,
            1000,
            0,
            4500,
            Action.PAUSE,
            "paused: the task needs 4500 MiB, over the 50% of VRAM you allow (4000 MiB)",
        ),
        (0.9, 6000, 0, 3000, Action.PAUSE, "paused: only 2000 MiB VRAM free, the task needs 3000 MiB"),
        (0.9, 6000, 2500, 3000, Action.RUN, None),  # what we hold counts as ours
        (0.9, 7999, 0, None, Action.RUN, None),  # no task, no VRAM rule
    ],
)
def test_vram_rule(share, used, own, need, action, reason):
    procs = (proc("runner", own, own=True),) if own else ()
    d = policy(max_vram_share=share).decide(snap(*procs, used=used), IDLE, False, MONDAY_NOON, need_mib=need)
    assert d.action is action
    if reason:
        assert (d.rule, d.reason) == (Rule.VRAM, reason)


def test_vram_budget_is_share_and_free_memory():
    p = policy(max_vram_share=0.5)
    assert p.vram_budget_mib(snap(used=1000).devices[0]) == 4000
    assert p.vram_budget_mib(snap(used=6000).devices[0]) == 2000
    assert p.vram_budget_mib(snap(proc("r", 1500, own=True), used=6000).devices[0]) == 3500


# -- allowed hours ------------------------------------------------------------------------------
def at(day: int, hh: int, mm: int = 0) -> datetime:
    """2024-01-01 + day (0 = Monday) at hh:mm UTC."""
    return datetime(2024, 1, 1 + day, hh, mm, tzinfo=UTC)


@pytest.mark.parametrize(
    ("hours", "now", "allowed"),
    [
        ({}, at(0, 3), True),
        ({"mon": ["09:00-17:00"]}, at(0, 9), True),
        ({"mon": ["09:00-17:00"]}, at(0, 16, 59), True),
        ({"mon": ["09:00-17:00"]}, at(0, 17), False),
        ({"mon": ["09:00-17:00"]}, at(0, 8, 59), False),
        ({"mon": ["09:00-17:00"]}, at(1, 3), True),  # tuesday not limited
        ({"mon": []}, at(0, 12), False),
        ({"mon": ["00:00-24:00"]}, at(0, 23, 59), True),
        ({"mon": ["22:00-06:00"]}, at(0, 23, 30), True),
        ({"mon": ["22:00-06:00"]}, at(0, 5), False),  # monday early morning is sunday's night
        ({"mon": ["22:00-06:00"], "tue": []}, at(1, 5, 59), True),  # wraps into tuesday
        ({"mon": ["22:00-06:00"], "tue": []}, at(1, 6), False),
        ({"sun": ["23:00-01:00"], "mon": []}, at(0, 0, 30), True),  # sunday night wraps into monday
        ({"sun": ["23:00-01:00"], "mon": []}, at(6, 0, 30), False),  # but not sunday early morning
        ({"mon": ["00:00-01:00", "18:00-20:00"]}, at(0, 19), True),
    ],
)
def test_allowed_hours(hours, now, allowed):
    p = policy(hours=hours)
    assert p.allowed_at(now) is allowed
    d = p.decide(snap(), IDLE, False, now)
    assert d.may_run is allowed
    if not allowed:
        assert d.rule is Rule.HOURS


def test_outside_hours_names_the_next_window():
    p = policy(hours={"mon": ["18:00-23:00"], "tue": ["22:00-06:00"]})
    assert p.decide(snap(), IDLE, False, at(0, 12)).reason == "waiting: outside allowed hours, next window from 18:00"
    assert p.decide(snap(), IDLE, False, at(0, 23, 30)).reason == (
        "waiting: outside allowed hours, next window from tomorrow 22:00"
    )


def test_hours_are_read_in_the_time_zone_of_now():
    p = policy(hours={"mon": ["09:00-17:00"]})
    cet = timezone(timedelta(hours=1))
    assert p.allowed_at(datetime(2024, 1, 1, 8, 30, tzinfo=UTC).astimezone(cet))
    assert AllowedHours(mon=["09:00-17:00"]).windows(0) == [(540, 1020)]


# -- invariants over random ticks ---------------------------------------------------------------
tick = st.tuples(
    st.floats(0, 120),  # seconds since the previous tick
    st.booleans(),  # a foreign game is on the GPU
    st.floats(0, 100),  # others' utilisation
    st.floats(30, 100),  # temperature
    st.one_of(st.none(), st.floats(0, 7200)),  # user idle seconds
    st.one_of(st.none(), st.booleans()),  # on battery
)


@settings(max_examples=200, deadline=None)
@given(st.lists(tick, min_size=1, max_size=30), st.booleans())
def test_invariants_hold_on_any_sequence(ticks, manual):
    p = policy(unknown_idle="treat_as_idle")
    if manual:
        p.pause()
    now = MONDAY_NOON
    for dt, game, util, temp, idle, battery in ticks:
        now += timedelta(seconds=dt)
        procs = (proc("steam_game", 2000),) if game else ()
        d = p.decide(snap(*procs, util=util, temp=temp), idle, battery, now)
        assert d.reason
        assert (d.rule in d.blocking) is (d.action is not Action.RUN)
        if manual:
            assert d.rule is Rule.MANUAL
        if game:
            assert d.action is Action.PAUSE and d.hard
        if temp >= 83 or battery:
            assert not d.may_run


# -- CPU mode and the power limit (issue 18) -------------------------------------------------
def cpu_snap(others: float) -> GpuSnapshot:
    device = DeviceSnapshot(index=0, name="CPU (2 threads)", utilization_pct=others, foreign_utilization_pct=others,
                            memory_used_mib=1000, memory_total_mib=8000)
    return GpuSnapshot("cpu", 0.0, (device,), NoGpu("no NVIDIA driver"))


def test_in_cpu_mode_others_load_is_called_cpu_load():
    d = policy(blip_s=0).decide(cpu_snap(41.0), IDLE, False, MONDAY_NOON)
    assert (d.action, d.reason) == (Action.PAUSE, "paused: other programs use 41 % of the CPU (limit 15 %)")


def test_the_always_preset_on_a_machine_without_gpu_does_not_pause_for_other_cpu_load():
    d = policy(run_when="always").decide(cpu_snap(41.0), None, False, MONDAY_NOON)
    assert d.action is Action.RUN and d.rule is Rule.ALWAYS


def power_snap(watts: float) -> GpuSnapshot:
    device = DeviceSnapshot(index=0, name="Fake GPU", utilization_pct=0.0, foreign_utilization_pct=0.0,
                            memory_used_mib=1000, memory_total_mib=8000, temperature_c=50.0, power_w=watts)
    return GpuSnapshot("simulated", 0.0, (device,))


def test_the_power_limit_pauses_above_it_and_resumes_after_calm():
    p = policy(power_ceiling_w=150, resume_after_s=20)
    got = run_ticks(p, [(0, power_snap(120)), (1, power_snap(180)), (2, power_snap(60)), (25, power_snap(60))])
    assert [a for _, a, _ in got] == [Action.RUN, Action.PAUSE, Action.PAUSE, Action.RUN]
    assert got[1][2] == "paused: the GPU draws 180 W (limit 150 W)"


def test_no_power_limit_by_default():
    assert policy().decide(power_snap(400), IDLE, False, MONDAY_NOON).action is Action.RUN
