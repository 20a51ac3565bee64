"""What the Search tab shows of one search, read from its state file (no Qt here).

The searches are the folders ``idlegrid search`` keeps by default, ``<data dir>/searches/<space
name>/search.sqlite3``. A :class:`SearchSource` reads the selected one read-only
(:class:`engine.search.reader.StateReader`) on the tab's reading thread and builds the report
with the CLI's own :func:`engine.search.results.build_report`, so the table, the costs and the
exports are the ones ``idlegrid search`` prints and writes. It re-reads only when the
coordinator committed something (SQLite's ``data_version``) or the file was replaced.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine import safejson
from engine.errors import IdlegridError
from engine.search.reader import STATE_FILE, CandidateState, Goal, SearchStateError, SpaceView, StateReader
from engine.search.results import Report, Row, build_report

START_COMMAND = "idlegrid search resources/search/digits.json --devnet --budget 20"
MAX_SPEC_BYTES = 1_000_000
MAX_ROWS = 1000          # rows in the table (best first); the exports have every candidate


def searches_folder() -> Path:
    from engine.config import paths

    return paths().data_dir / "searches"


def find_searches(root: Path) -> list[Path]:
    """The state files under ``root`` (one folder per search), the most recently changed first."""
    try:
        found = [p for p in root.glob(f"*/{STATE_FILE}") if p.is_file()]
    except OSError:
        return []

    def changed(p: Path) -> float:
        try:
            return max(q.stat().st_mtime for q in (p, p.with_name(p.name + "-wal")) if q.exists())
        except (OSError, ValueError):
            return 0.0

    return sorted(found, key=lambda p: (-changed(p), str(p)))


@dataclass(frozen=True)
class Shown:
    """A row as the table shows it: its rank among the results (None: no result yet)."""

    rank: int | None
    row: Row


def ranked(report: Report, limit: int | None = None) -> list[Shown]:
    """Best first (by the space's goal), then the candidates without a result, as ``idlegrid
    search`` prints its table; the first ``limit`` (default :data:`MAX_ROWS`)."""
    done = sorted(report.done, key=lambda r: r.value or 0.0, reverse=report.goal == Goal.MAXIMIZE)
    rest = (Shown(None, r) for r in report.rows if r.value is None)
    return [*(Shown(i, r) for i, r in enumerate(done, 1)), *rest][:MAX_ROWS if limit is None else limit]


@dataclass(frozen=True)
class Snapshot:
    """One reading of a search: the report (as the CLI builds it) and what the tab shows of it,
    worked out on the reading thread (a search of 10,000 candidates takes a second to sort)."""

    path: Path
    report: Report
    budget: int | None       # None: the search was started by an idlegrid that did not record it
    done: int
    in_flight: int
    dropped: int
    best: Row | None
    best_spec: str           # the best candidate's spec in a line ("" when there is none yet)
    totals: dict[str, int]
    curve: list[tuple[int, float]]   # (candidates evaluated, best so far)
    rows: list[Shown]        # the table: at most MAX_ROWS


@dataclass(frozen=True)
class Outcome:
    """What a poll found: the searches, the selected one, and its snapshot or the error
    (``unchanged``: neither, nothing was committed since the last reading)."""

    searches: list[Path]
    path: Path | None
    snapshot: Snapshot | None = None
    error: str | None = None
    unchanged: bool = False


def read_snapshot(reader: StateReader) -> Snapshot:
    """The search in ``reader``; :class:`SearchStateError` (one line naming the file) for a
    file that is not SQLite, not a search, or damaged. A lock held by the coordinator a moment
    too long is left as :class:`sqlite3.OperationalError` (the caller tries again later)."""
    path = reader.path
    try:
        settings = reader.meta("settings")
        if settings is None:
            raise SearchStateError(f"{path}: this search has not started yet (nothing recorded)",
                                   hint="`idlegrid search` records it once its wallet is unlocked")
        space = SpaceView.from_settings(settings)
        report = build_report(space, reader)
        budget = reader.meta("budget")
    except sqlite3.OperationalError as e:
        if _busy(e):
            raise
        raise SearchStateError(f"{path}: {_sqlite_words(e)}") from None
    except sqlite3.DatabaseError as e:
        raise SearchStateError(f"{path}: {_sqlite_words(e)}") from None
    except (ValueError, KeyError, TypeError, RecursionError) as e:
        raise SearchStateError(f"{path}: a damaged search state ({e or type(e).__name__})") from None
    states = [r.state for r in report.rows]
    best = report.best
    return Snapshot(
        path=path, report=report, budget=budget if isinstance(budget, int) else None,
        done=states.count(CandidateState.DONE.value),
        in_flight=sum(1 for s in states if CandidateState(s).in_flight),
        dropped=states.count(CandidateState.DROPPED.value),
        best=best, best_spec="" if best is None else spec_line(best, path.parent), totals=report.totals(),
        curve=[(n, v) for n, _, v in report.curve()], rows=ranked(report))


def _busy(e: sqlite3.OperationalError) -> bool:
    text = str(e).lower()
    return "locked" in text or "busy" in text


def _sqlite_words(e: sqlite3.DatabaseError) -> str:
    text = str(e)
    if "not a database" in text:
        return "not a search state (the file is not an SQLite database, or it is corrupt)"
    if "no such table" in text or "no such column" in text:
        return f"not an idlegrid search state ({text})"
    return f"cannot be read ({text})"


def spec_line(best: Row, folder: Path) -> str:
    """The best candidate's spec in one line: its name, layers, steps, batch and optimizer, from
    ``specs/<sha256>.json`` in the search folder (its choices alone when that file is missing)."""
    choices = " ".join(f"{k.split('.')[-1]}={v}" for k, v in best.params.items())
    text = f"{best.arch}" + (f" ({choices})" if choices else "")
    spec_file = folder / "specs" / f"{best.spec_sha256}.json"
    try:
        raw = spec_file.read_bytes()
        if len(raw) > MAX_SPEC_BYTES:
            return text
        spec = safejson.loads(raw, what=str(spec_file))
        layers = ", ".join(_layer(layer) for layer in spec["model"])
        optimizer = spec["optimizer"]
        return (f"{spec['name']}: {layers}; {spec['steps']:,} steps, batch {spec['batch_size']}, "
                f"{optimizer['kind']} lr {optimizer['lr']}")
    except (OSError, IdlegridError, KeyError, TypeError, ValueError):
        return text


def _layer(layer: Any) -> str:
    kind = str(layer["type"])
    size = layer.get("out_features") or layer.get("out_channels") or layer.get("dim")
    return f"{kind}({size})" if size else kind


class SearchSource:
    """Reads the selected search for the tab, on whichever thread calls :meth:`poll` (one call at
    a time). It keeps one read-only connection, to the selected file only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._closing = False
        self._reader: StateReader | None = None
        self._key: tuple[tuple[int, int], int] | None = None   # (file, data_version) of the last reading

    def poll(self, wanted: Path | None, *, force: bool = False) -> Outcome:
        """The searches and ``wanted``'s snapshot (the newest search's when None or gone); an
        unchanged outcome when nothing was committed since the last poll (unless ``force``)."""
        with self._lock:
            try:
                return self._poll(wanted, force)
            finally:
                if self._closing:
                    self._drop()

    def _poll(self, wanted: Path | None, force: bool) -> Outcome:
        searches = find_searches(self.root)
        path = wanted if wanted in searches else (searches[0] if searches else None)
        if self._reader is not None and self._reader.path != path:
            self._drop()
        if path is None:
            return Outcome(searches, None)
        try:
            st = path.stat()
            file = (st.st_ino, st.st_ctime_ns)    # changes when the file is replaced (or checkpointed)
            if self._reader is not None and self._key is not None and self._key[0] != file:
                self._drop()                      # a connection to a deleted file would never see a change
            if self._reader is None:
                self._reader = StateReader.open(path)
            key = (file, self._reader.data_version())
            if key == self._key and not force:
                return Outcome(searches, path, unchanged=True)
            snapshot = read_snapshot(self._reader)
            self._key = key
            return Outcome(searches, path, snapshot)
        except sqlite3.OperationalError as e:
            if _busy(e):
                return Outcome(searches, path, unchanged=True)   # the coordinator is writing: next time
            self._drop()
            return Outcome(searches, path, error=f"{path}: {_sqlite_words(e)}")
        except sqlite3.DatabaseError as e:
            self._drop()
            return Outcome(searches, path, error=f"{path}: {_sqlite_words(e)}")
        except IdlegridError as e:
            self._drop()
            return Outcome(searches, path, error=e.message + (f" ({e.hint})" if e.hint else ""))
        except OSError as e:
            self._drop()
            return Outcome(searches, path, error=f"{path}: cannot be read ({e.strerror or e})")

    def _drop(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self._reader, self._key = None, None

    def close(self) -> None:
        """Closes the connection now, or as soon as a poll in progress ends."""
        if self._lock.acquire(blocking=False):
            try:
                self._drop()
            finally:
                self._lock.release()
        else:
            self._closing = True

