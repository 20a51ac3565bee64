"""The Search tab's reading, without widgets: the light space view answers as the real space
does, the reader can never write, and a poll reads again only after a commit or a new file."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from app.dashboard.search_data import SearchSource, find_searches, ranked
from app.dashboard.search_watch import MAX_POLL_MS, POLL_MS, next_interval_ms
from engine.search.load import load_space
from engine.search.reader import SearchStateError, SpaceView, StateReader
from engine.search.results import build_report, table
from engine.search.state import SearchState
from tests.conftest import REPO
from tests.gui.search_fixtures import start_search, turn_until


@pytest.mark.parametrize("name", ["digits", "charlm"])
def test_the_recorded_space_answers_as_the_validated_space(name: str) -> None:
    space = load_space(REPO / "resources" / "search" / f"{name}.json")
    view = SpaceView.from_settings({"space": space.file.model_dump(mode="json")})
    assert (view.name, view.metric, view.goal) == (space.name, space.metric, space.goal)
    assert view.parameters() == space.parameters()
    for params in list(space.enumerate())[:5]:
        wide = {**params, **{k: v[0] for k, v in space.parameters().items() if k not in params}}
        assert view.effective(wide) == space.effective(wide) == params


def test_the_reader_cannot_write_and_leaves_a_closed_search_as_it_was(tmp_path: Path) -> None:
    c = start_search(tmp_path / "digits", budget=3)
    turn_until(c, lambda p: p.done >= 1)
    c.state.close()
    path = c.state.path
    before = hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns
    reader = StateReader.open(path)
    assert reader.count() == 3 and reader.meta("budget") == 3
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader._db.execute("UPDATE candidates SET state = 'done'")
    reader.close()
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before
    with pytest.raises(SearchStateError, match="no such search state file"):
        StateReader.open(tmp_path / "nowhere" / "search.sqlite3")


def test_a_poll_reads_again_only_after_a_commit_or_a_new_file(tmp_path: Path) -> None:
    root = tmp_path / "searches"
    c = start_search(root / "digits", budget=4, parallel=2)
    source = SearchSource(root)
    first = source.poll(None)
    assert first.snapshot is not None and first.snapshot.in_flight == 0 and first.path == c.state.path
    assert source.poll(None).unchanged                    # nothing committed: no reading
    turn_until(c, lambda p: p.in_flight == 2)
    second = source.poll(None)
    assert second.snapshot is not None and second.snapshot.in_flight == 2
    assert source.poll(None, force=True).snapshot is not None
    c.state.close()
    for f in c.state.path.parent.iterdir():               # the search is deleted and started again
        f.unlink()
    again = SearchState(c.state.path)
    third = source.poll(None)
    assert third.error is not None and "has not started yet" in third.error
    again.close()
    source.close()
    assert find_searches(root) == [c.state.path] and find_searches(tmp_path / "none") == []


def test_the_table_rows_are_the_clis_table_rows_in_its_order(tmp_path: Path) -> None:
    c = start_search(tmp_path / "digits", budget=7, parallel=3, lose_every=3, max_attempts=1)
    turn_until(c, lambda p: p.done >= 3 and p.in_flight + p.dropped >= 2)
    report = build_report(c.space, c.state)
    cli = [line.split()[1] for line in table(report).splitlines()[1:]]       # its CAND column
    assert [str(s.row.candidate) for s in ranked(report)] == cli
    assert [str(s.row.candidate) for s in ranked(report, limit=2)] == cli[:2]
    assert [s.rank for s in ranked(report)][:3] == [1, 2, 3]


def test_a_slow_reading_is_repeated_less_often() -> None:
    assert next_interval_ms(0.01) == POLL_MS
    assert next_interval_ms(1.0) == 5 * POLL_MS                             # a fifth of a core at most
    assert next_interval_ms(3600) == MAX_POLL_MS
