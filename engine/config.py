"""Where idlegrid keeps things, and the settings file.

Every path comes from here. ``IDLEGRID_HOME`` (dev mode, tests) puts config, data and cache
under one folder, so a test or a second instance never touches the user's real files.
Settings live in one TOML file; each subsystem owns one section and validates it with its
own strict pydantic model, so a typo names the file, section and key.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import platformdirs
import tomli_w
from pydantic import BaseModel, ValidationError

from engine.errors import ConfigError

APP_NAME = "idlegrid"
HOME_ENV = "IDLEGRID_HOME"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Paths:
    """The folders idlegrid writes to; created on first use."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.toml"

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def ensure(self) -> Paths:
        for d in (self.config_dir, self.data_dir, self.cache_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


def resources_dir() -> Path:
    """Shipped read-only files (contract artifacts, example tasks, data, icons).

    In a source checkout or editable install they sit beside the packages; a frozen
    (PyInstaller) build unpacks them under ``sys._MEIPASS``.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    root = Path(frozen_root) if frozen_root else Path(__file__).resolve().parents[1]
    return root / "resources"


def paths() -> Paths:
    """Platform folders, or all under ``$IDLEGRID_HOME`` when it is set."""
    home = os.environ.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().resolve()
        return Paths(root / "config", root / "data", root / "cache")
    return Paths(
        Path(platformdirs.user_config_dir(APP_NAME)),
        Path(platformdirs.user_data_dir(APP_NAME)),
        Path(platformdirs.user_cache_dir(APP_NAME)),
    )


MAX_SETTINGS_BYTES = 1_000_000  # a settings file is a few hundred bytes; a huge one is not ours
MAX_SETTINGS_DEPTH = 16


def read_settings(path: Path | None = None) -> dict[str, Any]:
    """The whole settings file as a dict; a missing file is empty settings.

    The file is read with limits first (size, UTF-8, nesting depth: tomllib recurses on nested
    inline tables and arrays), so no file, however broken, raises anything but ConfigError.
    """
    path = path or paths().settings_file
    move_away = "fix it, or move the file away to start from defaults"
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SETTINGS_BYTES + 1)
    except FileNotFoundError:
        return {}
    except IsADirectoryError:
        raise ConfigError(f"settings file {path} is a folder", hint=f"remove or rename the folder {path}") from None
    except OSError as e:
        raise ConfigError(f"settings file {path} cannot be read: {e.strerror}",
                          hint="check its permissions, or move it away to start from defaults") from None
    if len(raw) > MAX_SETTINGS_BYTES:
        raise ConfigError(f"settings file {path} is over {MAX_SETTINGS_BYTES:,} bytes", hint=move_away)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"settings file {path} is not UTF-8 text (byte {e.start})", hint=move_away) from None
    if _nesting(text) > MAX_SETTINGS_DEPTH:
        raise ConfigError(f"settings file {path} nests arrays or tables deeper than {MAX_SETTINGS_DEPTH} levels",
                          hint=move_away)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(
            f"settings file {path} is not valid TOML: {e}",
            hint="fix the line it names, or move the file away to start from defaults",
        ) from None
    except (RecursionError, ValueError) as e:  # tomllib's own limits (e.g. huge integers)
        raise ConfigError(f"settings file {path} cannot be parsed: {e}", hint=move_away) from None


def _nesting(text: str) -> int:
    """An upper bound on the nesting of arrays and inline tables (brackets in strings count too:
    over-counting can only refuse a file no real settings file resembles)."""
    depth = deepest = 0
    for ch in re.findall(r"[\[\]{}]", text):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(depth - 1, 0)
    return deepest


def load_section(name: str, model: type[M], path: Path | None = None) -> M:
    """One section of the settings, validated by ``model`` (defaults where absent)."""
    path = path or paths().settings_file
    raw = read_settings(path).get(name, {})
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in (name, *err["loc"]))
        raise ConfigError(
            f"settings file {path}: [{where}] {err['msg']}",
            hint=f"edit or remove '{where}' in {path}",
        ) from None


def save_section(name: str, section: BaseModel, path: Path | None = None) -> None:
    """Replace one section, keeping the others; written atomically so a crash loses nothing."""
    path = path or paths().settings_file
    data = read_settings(path)
    data[name] = section.model_dump(mode="json", exclude_none=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
