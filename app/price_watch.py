"""Keeps the network's ETH price fresh without blocking the GUI thread.

The fetch (engine.network.price, a GET of up to 10 s) runs on a plain thread and arrives
through a signal, as the app's other slow reads do. At most one fetch runs at a time and the
cache asks the feed at most every few minutes; a minute timer re-announces the quote so the
age the dashboard shows ("2 min ago") keeps up even when nothing else refreshes it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine.errors import IdlegridError
from engine.network.price import PriceCache, PriceFeedError, Quote
from engine.network.price_feed import PriceFeed
from engine.network.profiles import DEVNET, active_profile, load_profile

TICK_MS = 60_000


def profile_feed(network: Any | None) -> PriceFeed | None:
    """The price feed of the profile the settings name, if the engine runs on its chain.

    The devnet, a hand-written ``[network]`` and a profile that cannot be read have none (the
    Settings' network page shows why a profile cannot be read)."""
    if network is None or getattr(network, "devnet", False):
        return None
    try:
        name = active_profile()
        if not name or name == DEVNET:
            return None
        profile = load_profile(name)
    except IdlegridError:
        return None
    return profile.price_feed if profile.chain_id == getattr(network, "chain_id", None) else None


class PriceWatch(QObject):
    """``updated(Quote)`` on the GUI thread whenever the quote or its age changed."""

    updated = Signal(object)
    _fetched = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache: PriceCache | None = None
        self.busy = False
        self.timer = QTimer(self, interval=TICK_MS)
        self.timer.timeout.connect(self._tick)
        self._fetched.connect(self._on_fetched)

    @property
    def quote(self) -> Quote | None:
        return None if self.cache is None else self.cache.quote

    def use(self, feed: PriceFeed | None) -> None:
        """Follow ``feed`` (None: no feed; the price and its cache are dropped)."""
        if (self.cache.feed if self.cache is not None else None) == feed:
            return
        self.cache = None if feed is None else PriceCache(feed)
        if feed is None:
            self.timer.stop()
        else:
            self.timer.start()

    def poll(self) -> None:
        """Start a fetch when the cache is due for one and none is running."""
        cache = self.cache
        if cache is None or self.busy or not cache.due(time.time()):
            return
        self.busy = True
        threading.Thread(target=self._fetch, args=(cache,), name="idlegrid-price", daemon=True).start()

    def _fetch(self, cache: PriceCache) -> None:
        try:
            quote = cache.refresh()
        except Exception as e:  # an error the fetcher did not translate: keep the last price, say why
            quote = replace(cache.quote, error=PriceFeedError(cache.feed, f"failed ({type(e).__name__}: {e})"))
        with contextlib.suppress(RuntimeError):  # the window was closed and deleted meanwhile
            self._fetched.emit(quote)

    def _on_fetched(self, quote: Quote) -> None:
        self.busy = False
        if self.cache is not None and quote.feed == self.cache.feed:
            self.updated.emit(quote)

    def _tick(self) -> None:
        self.poll()
        if self.quote is not None:
            self.updated.emit(self.quote)
