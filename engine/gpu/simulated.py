"""``SimulatedBackend``: a scripted GPU for tests, benchmarks and the demo.

A timeline file (TOML, or JSON with the same keys) says what the GPU shows at t seconds
after the backend starts: foreign processes that appear and leave, and curves (``[t, value]``
points, linear in between, flat outside) for others' utilisation, temperature, power, fan::

    utilization = [[0, 3], [300, 3], [310, 60], [330, 3]]   # others' utilisation, %
    temperature = [[0, 45], [600, 86], [900, 60]]          # °C

    [device]
    name = "Simulated RTX 3060"
    memory_total_mib = 12288
    base_memory_mib = 400      # in use with no process (driver, desktop)
    own_mib = 2048             # what each of our pids appears to hold
    own_utilization = 90       # what our work adds, %, while we pass own pids

    [[process]]
    name = "steam_game"
    mib = 3000
    start = 120                # seconds after start
    stop = 600                 # leave out: stays to the end
    kind = "graphics"          # or "compute"
    utilization = 70           # its share of the GPU, %

Time comes from an injected clock (``ManualClock`` in tests), never from sleeping. The
backend is used only when asked for (``[gpu] backend = "simulated:<file>"``).
"""

from __future__ import annotations

import itertools
import json
import time
import tomllib
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.gpu.errors import TimelineError
from engine.gpu.monitor import BackendKind, DeviceSnapshot, GpuProcess, GpuSnapshot

Curve = list[tuple[float, float]]


def _check_curve(points: Curve) -> Curve:
    times = [t for t, _ in points]
    if any(t < 0 for t in times):
        raise ValueError("times must be >= 0 seconds")
    if times != sorted(times):
        raise ValueError(f"points must be in time order, got times {times}")
    return points


class SimDevice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "Simulated GPU"
    memory_total_mib: int = Field(8192, gt=0)
    base_memory_mib: int = Field(300, ge=0)
    own_mib: int = Field(0, ge=0)
    own_utilization: float = Field(0.0, ge=0, le=100)


class SimProcess(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    pid: int | None = Field(None, gt=0)
    mib: int = Field(0, ge=0)
    start: float = Field(0.0, ge=0)
    stop: float | None = None
    kind: Literal["compute", "graphics"] = "graphics"
    utilization: float = Field(0.0, ge=0, le=100)

    @model_validator(mode="after")
    def _stop_after_start(self) -> SimProcess:
        if self.stop is not None and self.stop <= self.start:
            raise ValueError(f"stop ({self.stop:g}) must come after start ({self.start:g})")
        return self


class Timeline(BaseModel):
    """A parsed timeline; see the module doc for the file format."""

    model_config = ConfigDict(extra="forbid")

    device: SimDevice = Field(default_factory=SimDevice)
    utilization: Curve = Field(default_factory=lambda: [(0.0, 0.0)])
    temperature: Curve = Field(default_factory=lambda: [(0.0, 40.0)])
    power: Curve | None = None
    fan: Curve | None = None
    process: list[SimProcess] = Field(default_factory=list)

    @field_validator("utilization", "temperature", "power", "fan")
    @classmethod
    def _curve(cls, v: Curve | None) -> Curve | None:
        if v is not None and not v:
            raise ValueError("needs at least one [t, value] point")
        return v if v is None else _check_curve(v)


def load_timeline(path: Path | str) -> Timeline:
    """Read and check a timeline file; any problem is a :class:`TimelineError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TimelineError(
            path, "file not found", hint='check the path in [gpu] backend = "simulated:<file>"'
        ) from None
    except OSError as e:
        raise TimelineError(path, f"cannot be read: {e.strerror}") from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as e:
        raise TimelineError(path, f"is not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {e}") from None
    try:
        return Timeline.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        raise TimelineError(path, f"{where or 'top level'}: {err['msg']}", hint=f"fix '{where}' in {path}") from None


def at(curve: Curve, t: float) -> float:
    """The curve's value at ``t``: linear between points, flat before the first and after the last."""
    if t <= curve[0][0]:
        return curve[0][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(curve):
        if t <= t1:
            return v1 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return curve[-1][1]


class ManualClock:
    """A clock that moves only when told: ``clock()`` reads it, ``advance(s)`` moves it."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SimulatedBackend:
    """A :class:`~engine.gpu.monitor.GpuBackend` playing a :class:`Timeline`; t = 0 at creation."""

    kind: BackendKind = "simulated"

    def __init__(self, timeline: Timeline, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeline = timeline
        self._clock = clock
        self._start = clock()

    @classmethod
    def from_file(cls, path: Path | str, *, clock: Callable[[], float] = time.monotonic) -> SimulatedBackend:
        return cls(load_timeline(path), clock=clock)

    def elapsed(self) -> float:
        return self._clock() - self._start

    def snapshot(self, own_pids: Collection[int] = ()) -> GpuSnapshot:
        now = self._clock()
        t = now - self._start
        tl, dev = self.timeline, self.timeline.device
        foreign = tuple(
            GpuProcess(
                pid=p.pid or 100_000 + i, name=p.name, kind=p.kind, used_mib=p.mib, utilization_pct=p.utilization
            )
            for i, p in enumerate(tl.process)
            if p.start <= t and (p.stop is None or t < p.stop)
        )
        own_util = dev.own_utilization if own_pids else 0.0
        own = tuple(
            GpuProcess(
                pid=pid,
                name="idlegrid-runner",
                kind="compute",
                used_mib=dev.own_mib,
                utilization_pct=own_util / len(own_pids),
                own=True,
            )
            for pid in sorted(own_pids)
        )
        others = min(100.0, at(tl.utilization, t) + sum(p.utilization_pct or 0.0 for p in foreign))
        used = dev.base_memory_mib + sum(p.used_mib or 0 for p in foreign + own)
        device = DeviceSnapshot(
            index=0,
            name=dev.name,
            uuid="GPU-simulated-0",
            utilization_pct=min(100.0, others + own_util),
            foreign_utilization_pct=others,
            memory_used_mib=min(used, dev.memory_total_mib),
            memory_total_mib=dev.memory_total_mib,
            temperature_c=at(tl.temperature, t),
            power_w=None if tl.power is None else at(tl.power, t),
            fan_pct=None if tl.fan is None else at(tl.fan, t),
            processes=foreign + own,
        )
        return GpuSnapshot("simulated", now, (device,))

    def close(self) -> None:
        pass
