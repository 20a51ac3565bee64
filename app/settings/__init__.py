"""The settings window and its parts: idle policy, network, data folders and autostart.

``SettingsDialog()`` reads and writes the settings file itself (engine.config sections), so
the application opens it with no arguments; tests pass an autostart writer and a network
checker of their choice.
"""

from app.settings.dialog import SavedSettings, SettingsDialog
from app.settings.network_check import NetworkReport, check_network
from app.settings.presets import PRESETS, Preset, preset, preset_of

__all__ = ["PRESETS", "NetworkReport", "Preset", "SavedSettings", "SettingsDialog", "check_network", "preset",
           "preset_of"]
