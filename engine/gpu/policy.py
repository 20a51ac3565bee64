"""The idle policy: may idlegrid use the GPU now? A pure state machine with injected time.

``IdlePolicy.decide(snapshot, user_idle_s, on_battery, now)`` evaluates every rule, updates
the little state that keeps decisions from flapping (temperature hysteresis, dwell times),
and returns a :class:`Decision` naming the first rule that blocks, in this order:

manual pause > snooze > no GPU > deny-list > foreign process > others' utilisation >
battery > temperature > VRAM > allowed hours > user activity.

Anti-flapping: a foreign process pauses at once (responsiveness first), but work resumes only
after it has been gone for ``resume_after_s``; others' utilisation over the limit pauses a
running job only once it lasted ``blip_s``, and likewise needs ``resume_after_s`` below the
limit; temperature pauses at the ceiling and resumes at ceiling - hysteresis. Nothing here
reads a clock or the system: the caller passes ``now`` and the readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fnmatch import fnmatchcase

from engine.gpu.monitor import DeviceSnapshot, GpuProcess, GpuSnapshot
from engine.gpu.settings import PolicySettings


class Action(StrEnum):
    RUN = "run"  # work may use the GPU
    PAUSE = "pause"  # stop now: something else needs the GPU, or the user said so
    WAIT = "wait"  # not yet: conditions to start are not met (user active, hours, no GPU)


class Rule(StrEnum):
    MANUAL = "manual"
    SNOOZE = "snooze"
    NO_GPU = "no_gpu"
    DENY_LIST = "deny_list"
    FOREIGN_PROCESS = "foreign_process"
    FOREIGN_UTILIZATION = "foreign_utilization"
    BATTERY = "battery"
    TEMPERATURE = "temperature"
    POWER = "power"
    VRAM = "vram"
    HOURS = "hours"
    USER_ACTIVE = "user_active"
    IDLE = "idle"  # RUN: the user is idle (or idleness unknown and treated as idle)
    ALWAYS = "always"  # RUN: run_when = "always"


@dataclass(frozen=True)
class Decision:
    """What to do now and why. ``hard`` (PAUSE only) suggests freeing GPU memory too
    (checkpoint and stop the runner), not just suspending compute; ``blocking`` lists every
    rule that blocks now, ``rule`` being the first of them (or IDLE/ALWAYS for RUN)."""

    action: Action
    reason: str
    rule: Rule
    hard: bool = False
    blocking: tuple[Rule, ...] = ()

    @property
    def may_run(self) -> bool:
        return self.action is Action.RUN


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.astimezone()


def _clock_text(t: datetime, now: datetime) -> str:
    if t.date() == now.date():
        return t.strftime("%H:%M")
    if t.date() == (now + timedelta(days=1)).date():
        return t.strftime("tomorrow %H:%M")
    if t - now < timedelta(days=6):
        return t.strftime("%a %H:%M")
    return t.strftime("%Y-%m-%d %H:%M")


def _ago(seconds: float) -> str:
    if seconds < 1:
        return "just now"
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    return f"{seconds // 60:.0f} min ago"


def _minutes(minutes: float) -> str:
    return f"{minutes:g} min"


def _names(procs: list[GpuProcess]) -> str:
    names = sorted({p.name for p in procs})
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _matches(name: str, patterns: list[str]) -> bool:
    low = name.lower()
    return any(fnmatchcase(low, p.lower()) for p in patterns)


@dataclass(frozen=True)
class _Block:
    rule: Rule
    action: Action
    reason: str
    hard: bool = False


class IdlePolicy:
    """Decides, tick by tick, whether work may use device ``device`` (see module doc)."""

    def __init__(self, settings: PolicySettings | None = None, *, device: int = 0) -> None:
        self.settings = settings or PolicySettings()
        self.device = device
        self.manual_paused = False
        self.snoozed_until: datetime | None = None
        self._running = False
        self._foreign_seen_at: datetime | None = None
        self._foreign_seen: str = ""
        self._util_high_since: datetime | None = None
        self._util_low_since: datetime | None = None
        self._util_paused = False
        self._hot = False
        self._power_high_at: datetime | None = None

    # -- user overrides ------------------------------------------------------------------
    def pause(self) -> None:
        """Manual pause: nothing runs until :meth:`resume`."""
        self.manual_paused = True

    def resume(self) -> None:
        """End a manual pause and any snooze; the other rules still apply."""
        self.manual_paused = False
        self.snoozed_until = None

    def snooze(self, until: datetime) -> None:
        """Nothing runs until ``until``."""
        self.snoozed_until = _aware(until)

    def snooze_for(self, now: datetime, seconds: float = 3600.0) -> datetime:
        self.snooze(_aware(now) + timedelta(seconds=seconds))
        return self.snoozed_until  # type: ignore[return-value]

    def snooze_until_tomorrow(self, now: datetime) -> datetime:
        """Snooze until tomorrow at ``snooze_until_hour`` o'clock (local to ``now``)."""
        now = _aware(now)
        day = (now + timedelta(days=1)).date()
        until = datetime(day.year, day.month, day.day, self.settings.snooze_until_hour, tzinfo=now.tzinfo)
        self.snooze(until)
        return until

    # -- the decision --------------------------------------------------------------------
    def decide(
        self,
        snapshot: GpuSnapshot,
        user_idle_s: float | None,
        on_battery: bool | None,
        now: datetime,
        *,
        need_mib: int | None = None,
    ) -> Decision:
        """The decision for this tick. ``user_idle_s`` None: unknown; ``on_battery`` None:
        no battery; ``need_mib``: the VRAM the current task needs, when there is one."""
        now = _aware(now)
        device = snapshot.device(self.device)
        blocks = [
            b
            for b in (
                self._manual(),
                self._snooze(now),
                self._no_gpu(snapshot, device),
                self._foreign_process(device, now),
                self._foreign_utilization(device, now, cpu=snapshot.backend == "cpu"),
                self._battery(on_battery),
                self._temperature(device),
                self._power(device, now),
                self._vram(device, need_mib),
                self._hours(now),
                self._user(user_idle_s),
            )
            if b is not None
        ]
        decision = (
            Decision(blocks[0].action, blocks[0].reason, blocks[0].rule, blocks[0].hard, tuple(b.rule for b in blocks))
            if blocks
            else self._run(user_idle_s)
        )
        self._running = decision.may_run
        return decision

    def vram_budget_mib(self, device: DeviceSnapshot) -> int | None:
        """The most VRAM our task may hold now: the allowed share, and no more than is free
        (counting what we already hold)."""
        if device.memory_total_mib is None:
            return None
        budget = int(device.memory_total_mib * self.settings.max_vram_share)
        if device.memory_free_mib is not None:
            budget = min(budget, device.memory_free_mib + device.own_memory_mib)
        return budget

    # -- the rules, each returning a block or None ----------------------------------------
    def _manual(self) -> _Block | None:
        return _Block(Rule.MANUAL, Action.PAUSE, "paused by you", hard=True) if self.manual_paused else None

    def _snooze(self, now: datetime) -> _Block | None:
        if self.snoozed_until is None:
            return None
        if now >= self.snoozed_until:
            self.snoozed_until = None
            return None
        return _Block(Rule.SNOOZE, Action.PAUSE, f"snoozed until {_clock_text(self.snoozed_until, now)}", hard=True)

    def _no_gpu(self, snapshot: GpuSnapshot, device: DeviceSnapshot | None) -> _Block | None:
        if device is None:
            if snapshot.no_gpu is not None:
                why = snapshot.no_gpu.reason
            else:
                why = f"GPU {self.device} not found ({len(snapshot.devices)} devices)"
            return _Block(Rule.NO_GPU, Action.WAIT, f"waiting: no GPU: {why}")
        if device.error is not None:
            return _Block(Rule.NO_GPU, Action.WAIT, f"waiting: GPU {device.index} does not answer: {device.error}")
        return None

    def _foreign_blockers(self, device: DeviceSnapshot) -> tuple[list[GpuProcess], list[GpuProcess]]:
        """(deny-listed, other unwanted) foreign processes on the device now."""
        s = self.settings
        denied = [p for p in device.foreign_processes if _matches(p.name, s.deny_processes)]
        others = [
            p
            for p in device.foreign_processes
            if s.pause_on_foreign_process
            and p not in denied
            and not _matches(p.name, s.allow_processes)
            and (p.used_mib is None or p.used_mib >= s.foreign_min_mib)
        ]
        return denied, others

    def _foreign_process(self, device: DeviceSnapshot | None, now: datetime) -> _Block | None:
        if device is None:
            return None
        denied, others = self._foreign_blockers(device)
        if denied or others:
            self._foreign_seen_at, self._foreign_seen = now, _names(denied + others)
            if denied:
                return _Block(
                    Rule.DENY_LIST, Action.PAUSE, f"paused: {_names(denied)} uses the GPU (deny-listed)", True
                )
            return _Block(Rule.FOREIGN_PROCESS, Action.PAUSE, f"paused: {_names(others)} uses the GPU", True)
        if self._foreign_seen_at is None:
            return None
        gone = (now - self._foreign_seen_at).total_seconds()
        if gone >= self.settings.resume_after_s:
            self._foreign_seen_at = None
            return None
        return _Block(
            Rule.FOREIGN_PROCESS,
            Action.PAUSE,
            f"paused: {self._foreign_seen} left the GPU {_ago(gone)}; "
            f"resuming after {self.settings.resume_after_s:g} s",
            True,
        )

    def _foreign_utilization(self, device: DeviceSnapshot | None, now: datetime, *, cpu: bool = False) -> _Block | None:
        """Others' load on the device. In CPU mode that is other programs' CPU load; "always"
        (a dedicated machine) then ignores it: the OS shares the CPU, and a busy machine would
        otherwise never train (issue 18: "Always" paused at once on a machine without a GPU)."""
        if cpu and self.settings.run_when == "always":
            return None
        util = None if device is None else device.foreign_utilization_pct
        limit = self.settings.foreign_utilization_pct
        what = "other programs use" if cpu else "others use"
        unit = "the CPU" if cpu else "the GPU"
        if util is not None and util > limit:
            self._util_low_since = None
            self._util_high_since = self._util_high_since or now
            lasted = (now - self._util_high_since).total_seconds()
            if self._running and not self._util_paused and lasted < self.settings.blip_s:
                return None  # a blip: do not stop running work for it
            self._util_paused = True
            return _Block(
                Rule.FOREIGN_UTILIZATION,
                Action.PAUSE,
                f"paused: {what} {util:.0f} % of {unit} (limit {limit:g} %)",
                True,
            )
        self._util_high_since = None
        if not self._util_paused:
            return None
        self._util_low_since = self._util_low_since or now
        calm = (now - self._util_low_since).total_seconds()
        if calm >= self.settings.resume_after_s:
            self._util_paused, self._util_low_since = False, None
            return None
        return _Block(
            Rule.FOREIGN_UTILIZATION,
            Action.PAUSE,
            f"paused: {what.replace('use', 'used')} {unit} until {_ago(calm)}; resuming after "
            f"{self.settings.resume_after_s:g} s",
            True,
        )

    def _battery(self, on_battery: bool | None) -> _Block | None:
        if on_battery and self.settings.pause_on_battery:
            return _Block(Rule.BATTERY, Action.PAUSE, "paused: on battery", hard=True)
        return None

    def _temperature(self, device: DeviceSnapshot | None) -> _Block | None:
        temp = None if device is None else device.temperature_c
        ceiling = self.settings.temperature_ceiling_c
        resume_at = ceiling - self.settings.temperature_hysteresis_c
        if temp is None:
            self._hot = False
            return None
        if temp >= ceiling:
            self._hot = True
            return _Block(Rule.TEMPERATURE, Action.PAUSE, f"paused: GPU at {temp:.0f} °C (ceiling {ceiling:g} °C)")
        if self._hot and temp > resume_at:
            return _Block(
                Rule.TEMPERATURE, Action.PAUSE, f"paused: GPU cooling down, {temp:.0f} °C (resumes at {resume_at:g} °C)"
            )
        self._hot = False
        return None

    def _power(self, device: DeviceSnapshot | None, now: datetime) -> _Block | None:
        """Pause while the GPU draws more than ``power_ceiling_w`` (0: no limit); resume once it
        stayed below for ``resume_after_s`` (our own training raises the draw again at once)."""
        ceiling = self.settings.power_ceiling_w
        watts = None if device is None else device.power_w
        if ceiling <= 0 or watts is None:
            self._power_high_at = None
            return None
        if watts > ceiling:
            self._power_high_at = now
            return _Block(Rule.POWER, Action.PAUSE, f"paused: the GPU draws {watts:.0f} W (limit {ceiling:g} W)")
        if self._power_high_at is None:
            return None
        calm = (now - self._power_high_at).total_seconds()
        if calm >= self.settings.resume_after_s:
            self._power_high_at = None
            return None
        return _Block(Rule.POWER, Action.PAUSE,
                      f"paused: the GPU drew more than {ceiling:g} W {_ago(calm)}; resuming after "
                      f"{self.settings.resume_after_s:g} s")

    def _vram(self, device: DeviceSnapshot | None, need_mib: int | None) -> _Block | None:
        if device is None or need_mib is None or device.memory_total_mib is None:
            return None
        share = self.settings.max_vram_share
        cap = int(device.memory_total_mib * share)
        if need_mib > cap:
            return _Block(
                Rule.VRAM,
                Action.PAUSE,
                f"paused: the task needs {need_mib} MiB, over the {share:.0%} of VRAM you allow ({cap} MiB)",
            )
        if device.memory_free_mib is not None:
            free = device.memory_free_mib + device.own_memory_mib
            if need_mib > free:
                return _Block(
                    Rule.VRAM, Action.PAUSE, f"paused: only {free} MiB VRAM free, the task needs {need_mib} MiB", True
                )
        return None

    def _hours(self, now: datetime) -> _Block | None:
        if self.allowed_at(now):
            return None
        upcoming = self._next_allowed(now)
        when = f", next window from {_clock_text(upcoming, now)}" if upcoming else ""
        return _Block(Rule.HOURS, Action.WAIT, f"waiting: outside allowed hours{when}")

    def allowed_at(self, now: datetime) -> bool:
        """Whether ``now`` (in its own time zone) falls in the allowed hours."""
        hours = self.settings.hours
        minute = now.hour * 60 + now.minute
        today = hours.windows(now.weekday())
        if today is None:
            return True
        for start, end in today:
            if (start < end and start <= minute < end) or (start > end and minute >= start):
                return True
        yesterday = hours.windows((now.weekday() - 1) % 7) or []
        return any(start > end and minute < end for start, end in yesterday)

    def _next_allowed(self, now: datetime) -> datetime | None:
        """The start of the next allowed window within a week, if any."""
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        for days in range(8):
            day = midnight + timedelta(days=days)
            windows = self.settings.hours.windows(day.weekday())
            starts = [0] if windows is None else sorted(s for s, _ in windows)
            for start in starts:
                at = day + timedelta(minutes=start)
                if at > now:
                    return at
        return None

    def _user(self, user_idle_s: float | None) -> _Block | None:
        s = self.settings
        if s.run_when == "always":
            return None
        if user_idle_s is None:
            if s.unknown_idle == "treat_as_idle":
                return None
            return _Block(
                Rule.USER_ACTIVE,
                Action.WAIT,
                "waiting: cannot tell how long you have been idle (unknown_idle = treat_as_active)",
            )
        if user_idle_s < s.idle_minutes * 60:
            return _Block(
                Rule.USER_ACTIVE,
                Action.WAIT,
                f"waiting: user active {_ago(user_idle_s)} (runs after {_minutes(s.idle_minutes)} idle)",
            )
        return None

    def _run(self, user_idle_s: float | None) -> Decision:
        if self.settings.run_when == "always":
            return Decision(Action.RUN, "running: allowed at any time (the Always preset)", Rule.ALWAYS)
        if user_idle_s is None:
            return Decision(Action.RUN, "running: idle time unknown, treated as idle", Rule.IDLE)
        return Decision(Action.RUN, f"running: user idle for {user_idle_s // 60:.0f} min", Rule.IDLE)


__all__ = ["Action", "Decision", "IdlePolicy", "Rule"]
