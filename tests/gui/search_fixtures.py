"""Real search states for the Search tab's tests: the real coordinator, stepped turn by turn
against the simulated market (engine.search.simulated, the chain port's interface), writing
its real SQLite state, so every candidate state the tab shows is one a search really reaches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.search.coordinator import Coordinator, Progress, SearchConfig
from engine.search.load import load_space
from engine.search.port import Terms
from engine.search.simulated import SimulatedMarket
from engine.search.state import SearchState
from tests.conftest import REPO

DIGITS = REPO / "resources" / "search" / "digits.json"
TERMS = Terms(reward=10**16, claim_timeout=100, train_timeout=30)
MAX_TURNS = 2000


def start_search(folder: Path, *, budget: int = 8, parallel: int = 3, lose_every: int = 0,
                 max_attempts: int = 3) -> Coordinator:
    """A digits search in ``folder``, resumed (settings and budget recorded), nothing posted yet."""
    market = SimulatedMarket(workers=1, train_s=3, lose_every=lose_every)
    config = SearchConfig(budget=budget, parallel=parallel, population=3, sample=2, poll_s=0.0,
                          max_attempts=max_attempts)
    coordinator = Coordinator(load_space(DIGITS), SearchState(folder / "search.sqlite3"), market, config, TERMS)
    coordinator.resume()
    return coordinator


def turn_until(coordinator: Coordinator, reached: Callable[[Progress], bool]) -> Progress:
    """Turn the coordinator (each turn is a simulated second) until ``reached``."""
    for _ in range(MAX_TURNS):
        if reached(coordinator.progress()):
            return coordinator.progress()
        coordinator.turn()
    raise AssertionError(f"the search never got there: {coordinator.progress()}")
