"""The GPU panel: utilisation, memory, temperature, and who else uses the GPU.

Readings come from an engine.gpu backend polled every 2 s only while the panel is visible (an
idle, hidden app must not wake the CPU), and from the engine's GPU events, which also say what
the idle policy decided and which rule blocks.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QWidget

from app.bridge import EngineBridge
from engine.events import EngineEvent
from engine.gpu.errors import GpuError
from engine.gpu.monitor import GpuBackend, GpuSnapshot

POLL_MS = 2000


def _pct(v: float | None) -> str:
    return f"{v:.0f} %" if v is not None else "unknown"


def snapshot_lines(snapshot: GpuSnapshot) -> dict[str, str]:
    """The panel's rows for a snapshot (device 0: the one idlegrid trains on)."""
    if not snapshot.devices:
        reason = snapshot.no_gpu.reason if snapshot.no_gpu else "no device reported"
        return {"Device": "No GPU", "Utilisation": "–", "Memory": "–", "Temperature": "–",
                "Others using it": "–", "Note": reason}
    d = snapshot.devices[0]
    memory = (f"{d.memory_used_mib:,} / {d.memory_total_mib:,} MiB"
              if d.memory_used_mib is not None and d.memory_total_mib is not None else "unknown")
    others = ", ".join(f"{p.name} (pid {p.pid})" for p in d.foreign_processes) or "nobody"
    note = d.error or (f"CPU mode: {snapshot.no_gpu.reason}" if snapshot.no_gpu else "")
    return {"Device": d.name, "Utilisation": _pct(d.utilization_pct), "Memory": memory,
            "Temperature": f"{d.temperature_c:.0f} °C" if d.temperature_c is not None else "unknown",
            "Others using it": others, "Note": note}


class GpuPanel(QGroupBox):
    def __init__(self, bridge: EngineBridge, backend_factory: Callable[[], GpuBackend] | None,
                 parent: QWidget | None = None) -> None:
        super().__init__("GPU", parent)
        self._factory = backend_factory
        self.backend: GpuBackend | None = None
        self.labels: dict[str, QLabel] = {}
        form = QFormLayout(self)
        for row in ("Device", "Utilisation", "Memory", "Temperature", "Others using it", "Idle policy", "Note"):
            label = QLabel("–")
            label.setWordWrap(True)
            label.setObjectName(f"gpu{row.title().replace(' ', '')}")
            self.labels[row] = label
            form.addRow(row, label)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        bridge.gpu.connect(self.on_gpu_event)

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

    def on_gpu_event(self, event: EngineEvent) -> None:
        """The idle policy's verdict (data: decision, rule, blockers = the rules that block)."""
        decision = event.data.get("decision")
        text = f"{decision}: {event.message}" if decision else event.message
        blockers = [str(b).replace("_", " ") for b in event.data.get("blockers") or ()]
        if len(blockers) > 1:
            text += f" (also blocking: {', '.join(blockers[1:])})"
        self.labels["Idle policy"].setText(text)

    def showEvent(self, event: object) -> None:  # noqa: N802 (Qt's name)
        self.timer.start()
        self.poll()
        super().showEvent(event)

    def hideEvent(self, event: object) -> None:  # noqa: N802
        self.timer.stop()
        super().hideEvent(event)

    def close_backend(self) -> None:
        self.timer.stop()
        if self.backend is not None:
            self.backend.close()
            self.backend = None
