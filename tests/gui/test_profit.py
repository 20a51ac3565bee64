"""Net profit = reward - gas - electricity: the arithmetic, and the dashboard showing it from a
real history (ledger and event log) with the user's electricity and ETH prices."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.dashboard import DashboardWindow
from app.engine_host import NetworkInfo
from app.profit import (
    CPU_ESTIMATE_W,
    EarningsSettings,
    Period,
    PowerMeter,
    fiat_to_wei,
    kwh,
    per_hour_and_day,
    profit,
    work_seconds,
)
from engine.events import EngineEvent, Kind
from engine.history import History
from tests.gui.conftest import noon_today

ETH = 10**18
MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def test_net_profit_is_reward_minus_gas_minus_electricity() -> None:
    settings = EarningsSettings(electricity_price=0.30, currency="EUR", eth_price=3000.0)
    # one hour at 200 W = 0.2 kWh = 0.06 EUR = 0.00002 ETH at 3000 EUR/ETH
    result = profit(Period(reward_wei=ETH // 100, gas_wei=3 * 10**14, work_s=3600, watts=200.0), settings)
    assert result.kwh == pytest.approx(0.2)
    assert result.electricity_fiat == pytest.approx(0.06)
    assert result.electricity_wei == 2 * 10**13
    assert result.net_wei == ETH // 100 - 3 * 10**14 - 2 * 10**13


def test_without_an_eth_price_electricity_is_shown_but_not_subtracted() -> None:
    result = profit(Period(ETH // 100, 10**14, 1800, 100.0), EarningsSettings(electricity_price=0.5))
    assert result.electricity_wei is None and result.net_wei == ETH // 100 - 10**14
    assert result.electricity_fiat == pytest.approx(0.025)


def test_edge_cases_of_the_arithmetic() -> None:
    assert kwh(-5, 100) == 0 and fiat_to_wei(1.0, 0.0) is None
    assert per_hour_and_day(5 * 10**15) == (5 * 10**15, 120 * 10**15)
    assert profit(Period(0, 10**15, 0, 0), EarningsSettings()).net_wei == -(10**15)  # fees alone: a loss


def test_training_time_counts_training_to_upload_within_the_period() -> None:
    events = [(1, "claiming", 90.0), (1, "training", 100.0), (1, "uploaded", 160.0),
              (2, "training", 200.0), (2, "uploaded", 230.0), (3, "training", 290.0)]
    assert work_seconds(events, since=0, until=300) == 60 + 30 + 10   # task 3 still training
    assert work_seconds(events, since=150, until=300) == 10 + 30 + 10


def test_power_is_measured_when_readings_exist_else_the_documented_cpu_estimate() -> None:
    meter = PowerMeter()
    assert meter.watts() == (CPU_ESTIMATE_W, "estimated")
    for reading in (180.0, None, 220.0):
        meter.add(reading)
    assert meter.watts() == (200.0, "measured")


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    h = History.open(tmp_path / "history.sqlite3")
    yield h
    h.close()


def test_the_dashboard_shows_earned_fees_electricity_and_net_per_period(qtbot, qapp, bridge, history) -> None:
    now = noon_today()
    history.add_ledger(31337, MARKET, 1, "reward", ETH // 100, tx_hash="0x" + "01" * 32, at=now - 60)
    history.add_ledger(31337, MARKET, 1, "stake_returned", ETH // 1000, tx_hash="0x" + "01" * 32, at=now - 60)
    history.add_ledger(31337, MARKET, 1, "gas", 3 * 10**14, tx_hash="0x" + "01" * 32, at=now - 60)
    history.add_ledger(31337, MARKET, 0, "reward", ETH, tx_hash="0x" + "02" * 32, at=now - 400 * 86400)
    history.add_event(EngineEvent(Kind.JOB, "training task 1", 1, {"state": "training"}, at=now - 3660))
    history.add_event(EngineEvent(Kind.JOB, "uploaded task 1", 1, {"state": "uploaded"}, at=now - 60))
    window = DashboardWindow(qapp, bridge, history=history, history_path=history.path, gpu_backend=None)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.network = NetworkInfo(31337, MARKET, devnet=True)
    window.power.add(200.0)
    window.show_periods(EarningsSettings(electricity_price=0.30, currency="EUR", eth_price=3000.0), now=now)
    labels = window.earnings_panel.period_labels
    today = window.earnings_panel.profits["today"]
    assert today.reward_wei == ETH // 100          # the returned stake is not earnings
    assert today.electricity_wei == 2 * 10**13     # 1 h at 200 W, 0.30 EUR/kWh, 3000 EUR/ETH
    assert today.net_wei == ETH // 100 - 3 * 10**14 - 2 * 10**13
    assert labels[("net", "today")].text() == "0.00968 ETH (29.04 EUR)"
    assert labels[("reward", "all")].text() == "1.01 ETH (3,030.00 EUR)"
    assert window.earnings_panel.rate.text().startswith("Estimate: 0.01 ETH (30.00 EUR) per hour, 0.24 ETH")
    assert "Electricity: 200 W measured × 0.3 EUR/kWh" in window.earnings_panel.power_note.text()
    assert window.summary.text().startswith("Earned today: 0.01 ETH")
