"""The Earnings tab at the network's ETH price: a real profile naming a real HTTP feed on
127.0.0.1, a real history and the real dashboard (offscreen); the fetch runs off the GUI
thread and the tests wait for what the panel shows, never for a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.dashboard import DashboardWindow
from app.engine_host import NetworkInfo
from app.profit import EarningsSettings
from engine.events import EngineEvent, Kind
from engine.history import History
from engine.network.price_feed import PriceFeed
from engine.network.profiles import Profile, save_profile, use_profile
from tests.gui.conftest import noon_today
from tests.pricefeed import Answer, PriceServer, price_server

ETH = 10**18
MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
FEED_WORDS = "ETH price: 3,412.50 USD/ETH from the network's price feed (127.0.0.1), just now."


@pytest.fixture
def server() -> Iterator[PriceServer]:
    with price_server() as s:
        yield s


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    h = History.open(tmp_path / "history.sqlite3")
    now = noon_today()
    h.add_ledger(31337, MARKET, 1, "reward", ETH // 100, tx_hash="0x" + "01" * 32, at=now - 60)
    h.add_ledger(31337, MARKET, 1, "gas", 3 * 10**14, tx_hash="0x" + "01" * 32, at=now - 60)
    h.add_event(EngineEvent(Kind.JOB, "training task 1", 1, {"state": "training"}, at=now - 3660))
    h.add_event(EngineEvent(Kind.JOB, "uploaded task 1", 1, {"state": "uploaded"}, at=now - 60))
    yield h
    h.close()


def dashboard(qtbot, qapp, bridge, history: History, server: PriceServer, *, currency: str = "USD",
              devnet: bool = False) -> DashboardWindow:
    feed = PriceFeed(url=server.url, path="ethereum.usd", currency=currency)
    save_profile(Profile(name="l2", chain_id=31337, market_address=MARKET, deploy_block=1,
                         rpc_urls=["https://rpc.example"], price_feed=feed))
    use_profile("l2")
    window = DashboardWindow(qapp, bridge, history=history, history_path=history.path, gpu_backend=None)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.network = NetworkInfo(31337, MARKET, devnet=devnet)
    window.power.add(200.0)
    return window


def test_without_a_price_of_their_own_the_user_sees_the_feeds_price_and_its_source(
        qtbot, qapp, bridge, history, server) -> None:
    window = dashboard(qtbot, qapp, bridge, history, server)
    panel = window.earnings_panel
    window.show_periods(EarningsSettings(electricity_price=0.30, currency="USD"), now=noon_today())
    qtbot.waitUntil(lambda: panel.price_note.text() == FEED_WORDS)
    electricity_wei = round(0.06 / 3412.5 * ETH)   # 1 h at 200 W, 0.30 USD/kWh
    assert panel.profits["today"].electricity_wei == electricity_wei
    assert panel.profits["today"].net_wei == ETH // 100 - 3 * 10**14 - electricity_wei
    assert panel.period_labels[("reward", "today")].text() == "0.01 ETH (34.12 USD)"
    assert "set an ETH price" not in panel.power_note.text()
    assert window.summary.text().startswith("Earned today: 0.01 ETH")
    assert server.requests == 1


def test_a_price_the_user_set_wins_and_the_feed_is_not_asked(qtbot, qapp, bridge, history, server) -> None:
    window = dashboard(qtbot, qapp, bridge, history, server)
    panel = window.earnings_panel
    window.show_periods(EarningsSettings(electricity_price=0.30, currency="USD", eth_price=3000.0), now=noon_today())
    assert panel.price_note.text() == "ETH price: 3,000.00 USD/ETH, your price (Settings)."
    assert panel.period_labels[("reward", "today")].text() == "0.01 ETH (30.00 USD)"
    assert window.prices.cache is None and server.requests == 0


def test_a_failed_fetch_keeps_the_last_price_and_says_so(qtbot, qapp, bridge, history, server) -> None:
    window = dashboard(qtbot, qapp, bridge, history, server)
    panel = window.earnings_panel
    window.show_periods(EarningsSettings(electricity_price=0.30, currency="USD"), now=noon_today())
    qtbot.waitUntil(lambda: panel.price_note.text() == FEED_WORDS)
    server.answer = Answer(b"down", status=503)
    assert window.prices.cache is not None
    window.prices.cache.interval_s = 0   # due again now, instead of in five minutes
    window.show_periods(EarningsSettings(electricity_price=0.30, currency="USD"), now=noon_today())
    qtbot.waitUntil(lambda: "the latest attempt failed: answered HTTP 503" in panel.price_note.text())
    assert panel.price_note.text().startswith("ETH price: 3,412.50 USD/ETH from the network's price feed")
    assert panel.period_labels[("reward", "today")].text() == "0.01 ETH (34.12 USD)"


def test_a_feed_in_another_currency_is_not_used_to_convert(qtbot, qapp, bridge, history, server) -> None:
    window = dashboard(qtbot, qapp, bridge, history, server, currency="USD")
    panel = window.earnings_panel
    window.show_periods(EarningsSettings(electricity_price=0.30, currency="EUR"), now=noon_today())
    assert panel.price_note.text() == ("The network's price feed quotes ETH in USD, and your currency is EUR: "
                                       "set an ETH price in EUR in Settings to convert.")
    assert panel.profits["today"].electricity_wei is None
    assert panel.period_labels[("reward", "today")].text() == "0.01 ETH"


def test_on_the_devnet_no_feed_is_asked(qtbot, qapp, bridge, history, server) -> None:
    window = dashboard(qtbot, qapp, bridge, history, server, devnet=True)
    window.show_periods(EarningsSettings(electricity_price=0.30, currency="USD"), now=noon_today())
    assert window.earnings_panel.price_note.text() == "" and window.prices.cache is None
    assert server.requests == 0
