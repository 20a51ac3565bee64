"""The idle-policy form: every rule of ``[policy]`` and the ``[gpu]`` choice, as widgets.

Simple first (preset, temperature limit, power limit, CPU fallback, and whatever the window
adds with :meth:`PolicyForm.add_simple`, e.g. the electricity price); everything else under
"Show advanced settings". In CPU mode (no NVIDIA GPU) "other programs" means other programs'
CPU load, and the labels say so (:meth:`PolicyForm.set_cpu_mode`).

``PolicyForm.load(policy, gpu)`` fills it; ``policy()`` and ``gpu()`` read it back through the
same strict pydantic models the engine uses, so the form can never save what the engine would
refuse; a bad value raises :class:`SettingsInputError` naming the field. A preset box on top
fills the form with one of :mod:`app.settings.presets` and shows "Custom" once a rule is edited.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings.errors import SettingsInputError, from_validation
from app.settings.presets import CUSTOM, PRESETS, preset, preset_of
from engine.gpu.settings import WEEKDAYS, GpuSettings, PolicySettings

SECTION = "Idle policy"
NEVER = "never"

LABELS = {
    "run_when": "Run",
    "idle_minutes": "Idle for at least (min)",
    "unknown_idle": "When idle time is unknown",
    "pause_on_foreign_process": "Pause when another program uses the GPU",
    "foreign_min_mib": "Ignore programs using less than (MiB)",
    "foreign_utilization_pct": "Pause when others use more than (%)",
    "allow_processes": "Programs that never pause work",
    "deny_processes": "Programs that always pause work",
    "hours": "Allowed hours",
    "pause_on_battery": "Pause on battery",
    "temperature_ceiling_c": "Pause at GPU temperature (°C)",
    "temperature_hysteresis_c": "Resume after cooling by (°C)",
    "power_ceiling_w": "GPU power limit (W, 0: none)",
    "max_vram_share": "Use at most this share of GPU memory (%)",
    "resume_after_s": "Resume after the GPU is free for (s)",
    "blip_s": "Ignore GPU use by others shorter than (s)",
    "snooze_until_hour": "'Snooze until tomorrow' ends at (hour)",
    "backend": "GPU monitor",
    "device": "GPU index",
    "allow_cpu": "Train on the CPU when there is no GPU",
}
CPU_LABELS = {
    "foreign_utilization_pct": "Pause when other programs' CPU load is above (%)",
    "pause_on_foreign_process": "Pause when another program uses the GPU (no GPU here)",
    "temperature_ceiling_c": "GPU temperature limit (°C; no GPU here)",
    "power_ceiling_w": "GPU power limit (W; no GPU here)",
}
DAY_NAMES = dict(zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


def _spin(maximum: float, decimals: int = 1, step: float = 1.0) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, maximum)  # lenient on purpose: the pydantic model says what is allowed
    box.setDecimals(decimals)
    box.setSingleStep(step)
    return box


def _int_spin(maximum: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, maximum)
    return box


class PolicyForm(QWidget):
    """Edits a :class:`PolicySettings` and a :class:`GpuSettings`."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self.preset = QComboBox(objectName="preset")
        for p in PRESETS:
            self.preset.addItem(p.title, p.key)
        self.preset.addItem("Custom", CUSTOM)
        self.preset_note = QLabel(wordWrap=True, objectName="presetNote")

        self.run_when = QComboBox(objectName="run_when")
        self.run_when.addItem("only when I'm away", "idle")
        self.run_when.addItem("always (when the GPU is free)", "always")
        self.idle_minutes = _spin(1440)
        self.unknown_idle = QComboBox(objectName="unknown_idle")
        self.unknown_idle.addItem("treat me as active (safe)", "treat_as_active")
        self.unknown_idle.addItem("treat me as away", "treat_as_idle")
        self.pause_on_foreign_process = QCheckBox()
        self.foreign_min_mib = _int_spin(1_000_000)
        self.foreign_utilization_pct = _spin(1000)
        self.allow_processes = QLineEdit(placeholderText="comma-separated names or patterns, e.g. Xorg, gnome-shell")
        self.deny_processes = QLineEdit(placeholderText="e.g. steam*, blender, *.exe")
        self.pause_on_battery = QCheckBox()
        self.temperature_ceiling_c = _spin(1000)
        self.temperature_hysteresis_c = _spin(1000)
        self.power_ceiling_w = _spin(5000, decimals=0, step=10)
        self.max_vram_share = _spin(1000, decimals=0)
        self.resume_after_s = _spin(86400, decimals=0, step=10)
        self.blip_s = _spin(86400, decimals=0)
        self.snooze_until_hour = _int_spin(99)
        self.days = {day: QLineEdit(placeholderText="any time", objectName=f"hours_{day}") for day in WEEKDAYS}

        self.backend = QComboBox(objectName="backend", editable=True)
        for name in ("auto", "nvml", "cpu"):
            self.backend.addItem(name)
        self.device = _int_spin(64)
        self.allow_cpu = QCheckBox()

        self._build()
        for widget in self._inputs():
            signal = getattr(widget, "valueChanged", None) or getattr(widget, "toggled", None) \
                or getattr(widget, "textChanged", None)
            if isinstance(widget, QComboBox):
                signal = widget.currentIndexChanged
            assert signal is not None, f"{type(widget).__name__} has no change signal"
            signal.connect(self._edited)
        self.preset.currentIndexChanged.connect(self._preset_picked)
        self.load(PolicySettings(), GpuSettings())

    # layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.label_widgets: dict[str, QLabel] = {}

        def row(form: QFormLayout, key: str) -> None:
            widget = getattr(self, key)
            label = QLabel(LABELS[key])
            label.setBuddy(widget)
            widget.setAccessibleName(LABELS[key])
            self.label_widgets[key] = label
            form.addRow(label, widget)

        self.preset.setAccessibleName("Preset")
        self.simple_layout = simple = QFormLayout()
        simple.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # long labels: the field goes below
        simple.addRow("Preset", self.preset)
        simple.addRow(self.preset_note)
        for key in ("temperature_ceiling_c", "power_ceiling_w", "allow_cpu"):
            row(simple, key)

        when = QFormLayout()
        for key in ("run_when", "idle_minutes", "unknown_idle", "pause_on_battery", "snooze_until_hour"):
            row(when, key)
        others = QFormLayout()
        for key in ("pause_on_foreign_process", "foreign_min_mib", "foreign_utilization_pct", "blip_s",
                    "resume_after_s", "allow_processes", "deny_processes"):
            row(others, key)
        gpu = QFormLayout()
        for key in ("temperature_hysteresis_c", "max_vram_share", "backend", "device"):
            row(gpu, key)
        hours = QFormLayout()
        hours.addRow(QLabel("Windows like 09:00-17:30, several separated by commas; 22:00-06:00 runs past "
                            f"midnight. Empty: any time. '{NEVER}': not that day.", wordWrap=True))
        for day, edit in self.days.items():
            edit.setAccessibleName(f"Allowed hours on {DAY_NAMES[day]}")
            hours.addRow(DAY_NAMES[day], edit)

        self.advanced = QWidget(objectName="advancedSettings")
        self.advanced_layout = advanced = QVBoxLayout(self.advanced)
        advanced.setContentsMargins(0, 0, 0, 0)
        boxes = []
        for title, form in (("When", when), ("Other programs", others), ("GPU", gpu), ("Allowed hours", hours)):
            box = QGroupBox(title)
            box.setLayout(form)
            advanced.addWidget(box)
            boxes.append(box)
        self.others_box = boxes[1]
        self.advanced.hide()
        self.advanced_button = QPushButton("Show advanced settings", objectName="advancedButton", checkable=True)
        self.advanced_button.toggled.connect(self._show_advanced)

        layout = QVBoxLayout(self)
        simple_box = QGroupBox("Simple")
        simple_box.setLayout(simple)
        layout.addWidget(simple_box)
        layout.addWidget(self.advanced_button)
        layout.addWidget(self.advanced)
        layout.addStretch(1)

    def add_simple(self, rows: list[tuple[str | None, QWidget]]) -> None:
        """Another form's rows in the Simple box (the electricity price), lined up with these."""
        for label, widget in rows:
            if label is None:
                self.simple_layout.addRow(widget)
            else:
                self.simple_layout.addRow(label, widget)

    def add_advanced(self, title: str, rows: list[QWidget]) -> None:
        """Another form's widgets as a box of their own under "Show advanced settings" (the app's
        quit behaviour): every rarely changed knob in one place."""
        box = QGroupBox(title)
        form = QFormLayout(box)
        for widget in rows:
            form.addRow(widget)
        self.advanced_layout.addWidget(box)

    def _show_advanced(self, shown: bool) -> None:
        self.advanced.setVisible(shown)
        self.advanced_button.setText("Hide advanced settings" if shown else "Show advanced settings")

    def set_cpu_mode(self, cpu: bool) -> None:
        """No NVIDIA GPU here: "others" is other programs' CPU load; GPU-only rules say they are unused."""
        for key, label in self.label_widgets.items():
            text = CPU_LABELS.get(key, LABELS[key]) if cpu else LABELS[key]
            label.setText(text)
            getattr(self, key).setAccessibleName(text)
        self.others_box.setTitle("Other programs (CPU load)" if cpu else "Other programs")

    def _inputs(self) -> list[QWidget]:
        names = [k for k in LABELS if k != "hours"]
        return [getattr(self, k) for k in names] + list(self.days.values())

    # data --------------------------------------------------------------------------------
    def load(self, policy: PolicySettings, gpu: GpuSettings) -> None:
        """Show ``policy`` and ``gpu`` in the form."""
        self._loading = True
        try:
            self.run_when.setCurrentIndex(self.run_when.findData(policy.run_when))
            self.idle_minutes.setValue(policy.idle_minutes)
            self.unknown_idle.setCurrentIndex(self.unknown_idle.findData(policy.unknown_idle))
            self.pause_on_foreign_process.setChecked(policy.pause_on_foreign_process)
            self.foreign_min_mib.setValue(policy.foreign_min_mib)
            self.foreign_utilization_pct.setValue(policy.foreign_utilization_pct)
            self.allow_processes.setText(", ".join(policy.allow_processes))
            self.deny_processes.setText(", ".join(policy.deny_processes))
            self.allow_processes.setCursorPosition(0)
            self.deny_processes.setCursorPosition(0)
            self.pause_on_battery.setChecked(policy.pause_on_battery)
            self.temperature_ceiling_c.setValue(policy.temperature_ceiling_c)
            self.temperature_hysteresis_c.setValue(policy.temperature_hysteresis_c)
            self.power_ceiling_w.setValue(policy.power_ceiling_w)
            self.max_vram_share.setValue(round(policy.max_vram_share * 100))
            self.resume_after_s.setValue(policy.resume_after_s)
            self.blip_s.setValue(policy.blip_s)
            self.snooze_until_hour.setValue(policy.snooze_until_hour)
            for day, edit in self.days.items():
                windows = getattr(policy.hours, day)
                edit.setText("" if windows is None else ", ".join(windows) if windows else NEVER)
            self.backend.setCurrentText(gpu.backend)
            self.device.setValue(gpu.device)
            self.allow_cpu.setChecked(gpu.allow_cpu)
        finally:
            self._loading = False
        self._show_preset(preset_of(policy))

    def policy(self) -> PolicySettings:
        """The policy in the form; :class:`SettingsInputError` names the first bad field."""
        hours: dict[str, Any] = {}
        for day, edit in self.days.items():
            text = edit.text().strip()
            if text:
                hours[day] = [] if text.lower() == NEVER else _names(text)
        raw = {
            "run_when": self.run_when.currentData(),
            "idle_minutes": self.idle_minutes.value(),
            "unknown_idle": self.unknown_idle.currentData(),
            "pause_on_foreign_process": self.pause_on_foreign_process.isChecked(),
            "foreign_min_mib": self.foreign_min_mib.value(),
            "foreign_utilization_pct": self.foreign_utilization_pct.value(),
            "allow_processes": _names(self.allow_processes.text()),
            "deny_processes": _names(self.deny_processes.text()),
            "hours": hours,
            "pause_on_battery": self.pause_on_battery.isChecked(),
            "temperature_ceiling_c": self.temperature_ceiling_c.value(),
            "temperature_hysteresis_c": self.temperature_hysteresis_c.value(),
            "power_ceiling_w": self.power_ceiling_w.value(),
            "max_vram_share": self.max_vram_share.value() / 100,
            "resume_after_s": self.resume_after_s.value(),
            "blip_s": self.blip_s.value(),
            "snooze_until_hour": self.snooze_until_hour.value(),
        }
        try:
            settings = PolicySettings.model_validate(raw)
        except ValidationError as e:
            error = from_validation(SECTION, LABELS, e)
            if error.field.startswith(LABELS["hours"]):
                day = error.field.split("(")[-1].split(".")[0].rstrip(")")
                error = SettingsInputError(SECTION, f"{LABELS['hours']}, {DAY_NAMES.get(day, day)}", error.problem,
                                           hint="write windows like 09:00-17:30, separated by commas; "
                                                f"leave empty for any time, or '{NEVER}'")
            raise error from None
        if settings.temperature_hysteresis_c >= settings.temperature_ceiling_c:
            raise SettingsInputError(SECTION, LABELS["temperature_hysteresis_c"],
                                     "must be smaller than the temperature ceiling",
                                     hint="a few degrees (5) is usual: work resumes at ceiling minus this")
        return settings

    def gpu(self) -> GpuSettings:
        """The ``[gpu]`` choice in the form; :class:`SettingsInputError` when it is bad."""
        try:
            return GpuSettings.model_validate({"backend": self.backend.currentText().strip(),
                                               "device": self.device.value(), "allow_cpu": self.allow_cpu.isChecked()})
        except ValidationError as e:
            error = from_validation("GPU", LABELS, e)
            raise SettingsInputError("GPU", error.field, error.problem,
                                     hint="choose auto, nvml or cpu (or simulated:<timeline> for tests)") from None

    # presets -----------------------------------------------------------------------------
    def _preset_picked(self) -> None:
        if self._loading:
            return
        key = self.preset.currentData()
        if key != CUSTOM:
            self.load(preset(key).settings(), self.gpu_or_default())
            self.changed.emit()
        self._show_note(key)

    def gpu_or_default(self) -> GpuSettings:
        try:
            return self.gpu()
        except SettingsInputError:
            return GpuSettings()

    def _edited(self) -> None:
        if self._loading:
            return
        try:
            key = preset_of(self.policy())
        except SettingsInputError:
            key = CUSTOM
        self._show_preset(key)
        self.changed.emit()

    def _show_preset(self, key: str) -> None:
        self._loading = True
        try:
            self.preset.setCurrentIndex(self.preset.findData(key))
        finally:
            self._loading = False
        self._show_note(key)

    def _show_note(self, key: str) -> None:
        self.preset_note.setText("Your own rules, below." if key == CUSTOM else preset(key).description)
