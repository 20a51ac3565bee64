"""Paths and the settings file: dev-mode override, atomic writes, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from engine.config import load_section, paths, read_settings, resources_dir, save_section
from engine.errors import ConfigError


class Demo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = 8545
    name: str = "x"


def test_idlegrid_home_puts_everything_under_one_folder(idlegrid_home: Path) -> None:
    p = paths()
    assert p.config_dir == idlegrid_home / "config" and p.data_dir == idlegrid_home / "data"
    assert (resources_dir() / "tasks" / "digits-mlp.json").is_file()


def test_sections_round_trip_and_keep_each_other() -> None:
    save_section("a", Demo(port=1))
    save_section("b", Demo(name="y"))
    assert load_section("a", Demo).port == 1 and load_section("b", Demo).name == "y"
    assert load_section("missing", Demo) == Demo()


def test_bad_toml_names_the_file() -> None:
    f = paths().ensure().settings_file
    f.write_text("port = = 3")
    with pytest.raises(ConfigError, match="not valid TOML") as e:
        read_settings()
    assert str(f) in str(e.value)


@pytest.mark.parametrize(("body", "where"), [("[a]\nprot = 1\n", "a.prot"), ("[a]\nport = 'high'\n", "a.port")])
def test_bad_key_or_value_names_section_and_key(body: str, where: str) -> None:
    paths().ensure().settings_file.write_text(body)
    with pytest.raises(ConfigError, match=rf"\[{where}\]"):
        load_section("a", Demo)
