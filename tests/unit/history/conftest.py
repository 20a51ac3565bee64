from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.history import History

MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER_MARKET = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
CHAIN = 1337


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


@pytest.fixture
def history(db_path: Path) -> Iterator[History]:
    h = History.open(db_path)
    yield h
    h.close()
