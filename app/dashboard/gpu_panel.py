"""The device panel: what idlegrid does now (AppState's headline), the GPU's utilisation,
memory, temperature, power and fan, and who else uses it.

Readings come from an engine.gpu backend polled every 2 s only while the panel is visible (an
idle, hidden app must not wake the CPU). In CPU mode (no NVIDIA GPU) the device is the CPU and
"others" means other programs' CPU load, and the rows say so. Power readings taken while a job
trains feed the profit arithmetic's :class:`app.profit.PowerMeter`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QWidget

from app.profit import PowerMeter
from app.state import AppState, Now
from engine.gpu.errors import GpuError
from engine.gpu.monitor import GpuBackend, GpuSnapshot

POLL_MS = 2000
ROWS = ("Now", "Device", "Utilisation", "Memory", "Temperature", "Power", "Fan", "Others using it", "Note")


def _pct(v: float | None) -> str:
    return f"{v:.0f} %" if v is not None else "not reported"


def snapshot_lines(snapshot: GpuSnapshot) -> dict[str, str]:
    """The panel's rows for a snapshot (device 0: the one idlegrid trains on)."""
    if not snapshot.devices:
        reason = snapshot.no_gpu.reason if snapshot.no_gpu else "no device reported"
        return {"Device": "No GPU found", "Utilisation": "–", "Memory": "–", "Temperature": "–", "Power": "–",
                "Fan": "–", "Others using it": "–", "Note": _plain_no_gpu(reason)}
    d = snapshot.devices[0]
    memory = (f"{d.memory_used_mib:,} / {d.memory_total_mib:,} MiB"
              if d.memory_used_mib is not None and d.memory_total_mib is not None else "not reported")
    if snapshot.backend == "cpu":
        others = f"other programs use {_pct(d.foreign_utilization_pct)} of the CPU"
        note = "CPU mode: no NVIDIA GPU found, so idlegrid trains on the CPU"
    else:
        others = ", ".join(p.name for p in d.foreign_processes) or "no other program"
        note = d.error or ""
    return {"Device": d.name, "Utilisation": _pct(d.utilization_pct), "Memory": memory,
            "Temperature": f"{d.temperature_c:.0f} °C" if d.temperature_c is not None else "not reported",
            "Power": f"{d.power_w:.0f} W" if d.power_w is not None else "not reported",
            "Fan": _pct(d.fan_pct), "Others using it": others, "Note": note}


def _plain_no_gpu(reason: str) -> str:
    """No driver-library names: "libnvidia-ml.so.1 not loadable" becomes plain words."""
    if "libnvidia" in reason or "NVML" in reason or "nvml" in reason:
        return "No NVIDIA driver found: idlegrid cannot use a GPU here"
    return reason


class GpuPanel(QGroupBox):
    def __init__(self, state: AppState, backend_factory: Callable[[], GpuBackend] | None,
                 power: PowerMeter | None = None, parent: QWidget | None = None) -> None:
        super().__init__("Device", parent)
        self._factory = backend_factory
        self._state = state
        self.power = power or PowerMeter()
        self.backend: GpuBackend | None = None
        self.labels: dict[str, QLabel] = {}
        form = QFormLayout(self)
        for row in ROWS:
            label = QLabel("–")
            label.setWordWrap(True)
            label.setObjectName(f"gpu{row.title().replace(' ', '')}")
            label.setAccessibleName(row)
            self.labels[row] = label
            form.addRow(row, label)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        state.changed.connect(self.show_now)
        self.show_now(state.now)

    def show_now(self, now: Now) -> None:
        self.labels["Now"].setText(now.headline)

    def poll(self) -> None:
        if self._factory is None:
            return
        try:
            if self.backend is None:
                self.backend = self._factory()
            self.show_snapshot(self.backend.snapshot())
        except GpuError as e:
            self.labels["Note"].setText(e.message)

    def show_snapshot(self, snapshot: GpuSnapshot) -> None:
        for row, text in snapshot_lines(snapshot).items():
            self.labels[row].setText(text)
        self.setTitle("CPU" if snapshot.backend == "cpu" else "GPU" if snapshot.devices else "Device")
        self._state.set_cpu_mode(snapshot.backend in ("cpu", "none"))
        if snapshot.devices and self._state.now.working:
            self.power.add(snapshot.devices[0].power_w)

    def showEvent(self, event: object) -> None:
        self.timer.start()
        self.poll()
        super().showEvent(event)  # type: ignore[arg-type]

    def hideEvent(self, event: object) -> None:
        self.timer.stop()
        super().hideEvent(event)  # type: ignore[arg-type]

    def close_backend(self) -> None:
        self.timer.stop()
        if self.backend is not None:
            self.backend.close()
            self.backend = None
