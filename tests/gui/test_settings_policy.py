"""The idle-policy form: every rule round-trips, presets fill it, bad values name their field."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from app.settings.errors import SettingsInputError
from app.settings.policy_form import PolicyForm
from app.settings.presets import PRESETS, preset
from engine.gpu.settings import AllowedHours, GpuSettings, PolicySettings

EVERY_RULE_CHANGED = PolicySettings(
    run_when="always",
    idle_minutes=12.5,
    unknown_idle="treat_as_idle",
    pause_on_foreign_process=False,
    foreign_min_mib=256,
    foreign_utilization_pct=30.0,
    allow_processes=["Xorg", "obs*"],
    deny_processes=["steam*", "blender"],
    hours=AllowedHours(mon=["09:00-12:00", "22:00-06:00"], sun=[]),
    pause_on_battery=False,
    temperature_ceiling_c=75.0,
    temperature_hysteresis_c=8.0,
    power_ceiling_w=180.0,
    max_vram_share=0.5,
    resume_after_s=120.0,
    blip_s=4.0,
    snooze_until_hour=6,
)


@pytest.fixture
def form(qtbot: QtBot) -> PolicyForm:
    widget = PolicyForm()
    qtbot.addWidget(widget)
    return widget


def test_every_policy_rule_and_gpu_choice_round_trips(form: PolicyForm) -> None:
    assert set(EVERY_RULE_CHANGED.model_dump()) == set(PolicySettings.model_fields)
    for name in PolicySettings.model_fields:
        assert getattr(EVERY_RULE_CHANGED, name) != getattr(PolicySettings(), name), name
    gpu = GpuSettings(backend="cpu", device=1, allow_cpu=True)
    form.load(EVERY_RULE_CHANGED, gpu)
    assert form.policy() == EVERY_RULE_CHANGED
    assert form.gpu() == gpu


def test_a_preset_fills_the_form_and_an_edit_makes_it_custom(form: PolicyForm) -> None:
    assert form.preset.currentData() == "away"
    form.preset.setCurrentIndex(form.preset.findData("nights"))
    assert form.policy() == preset("nights").settings()
    assert form.days["fri"].text() == "23:00-07:00"
    assert "23:00" in form.preset_note.text()
    form.temperature_ceiling_c.setValue(70)
    assert form.preset.currentData() == "custom"
    assert form.policy().hours == preset("nights").settings().hours  # the rest is kept


def test_presets_keep_the_safety_rules_on() -> None:
    for p in PRESETS:
        s = p.settings()
        assert s.pause_on_foreign_process and s.pause_on_battery and s.temperature_ceiling_c == 83.0


def test_a_malformed_hours_window_names_the_day(form: PolicyForm) -> None:
    form.days["wed"].setText("9-17")
    with pytest.raises(SettingsInputError, match="Allowed hours, Wednesday") as err:
        form.policy()
    assert "'9-17' is not a window" in err.value.message
    assert "09:00-17:30" in (err.value.hint or "")


def test_an_impossible_hour_is_refused(form: PolicyForm) -> None:
    form.days["mon"].setText("08:00-25:00")
    with pytest.raises(SettingsInputError, match="impossible time"):
        form.policy()


def test_out_of_range_value_names_the_field(form: PolicyForm) -> None:
    form.foreign_utilization_pct.setValue(0)
    with pytest.raises(
        SettingsInputError, match=r"Idle policy: Pause when others use more than \(%\): .*greater than 0"
    ):
        form.policy()
    form.foreign_utilization_pct.setValue(15)
    form.max_vram_share.setValue(150)
    with pytest.raises(SettingsInputError, match="share of GPU memory"):
        form.policy()


def test_hysteresis_above_the_ceiling_is_refused(form: PolicyForm) -> None:
    form.temperature_ceiling_c.setValue(40)
    form.temperature_hysteresis_c.setValue(40)
    with pytest.raises(SettingsInputError, match="smaller than the temperature ceiling"):
        form.policy()


def test_unknown_gpu_backend_is_refused(form: PolicyForm) -> None:
    form.backend.setCurrentText("cuda")
    with pytest.raises(SettingsInputError, match="GPU: GPU monitor") as err:
        form.gpu()
    assert "auto, nvml or cpu" in (err.value.hint or "")
