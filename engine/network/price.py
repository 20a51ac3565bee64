"""Reading the price of 1 ETH from a network profile's ``price_feed`` (no Qt, no web3).

The answer comes from a server we do not control, so it is hostile input: one GET with a short
timeout, no redirects (a redirect could lead from https to clear text), a size cap read before
parsing, the project's safe JSON loader (:mod:`engine.safejson`: depth, size, NaN, duplicate
keys) with tight limits, and a number that must be finite and within what any currency could
quote for ETH. Every refusal is one :class:`PriceFeedError` naming the feed and a fix.

:class:`PriceCache` asks at most once per ``interval_s`` (a failed attempt counts too, so a
dead feed is not hammered) and keeps the last good price through failures, with its age, so
the app can say how old the figure it shows is.
"""

from __future__ import annotations

import http.client
import math
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

from engine.errors import IdlegridError
from engine.network.price_feed import PriceFeed
from engine.safejson import JsonLimits, UntrustedJsonError, loads

TIMEOUT_S = 10.0
MAX_BYTES = 64 * 1024
LIMITS = JsonLimits(max_bytes=MAX_BYTES, max_depth=8, max_items=2_000, max_string=1_000)
MIN_PRICE = 1e-6       # ETH quoted in BTC is about 0.03; below this no currency is plausible
MAX_PRICE = 1e10       # ETH in IDR or VND is about 1e8; above this the feed is broken
INTERVAL_S = 300.0
NUMBER_RE = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,18})?$")
HINT = ("fix or remove price_feed in the network profile, or set your own ETH price in "
        "Settings → Earnings (your price always wins)")


class PriceFeedError(IdlegridError):
    """The profile's price feed gave no usable price."""

    def __init__(self, feed: PriceFeed, problem: str) -> None:
        self.feed = feed
        self.problem = problem
        super().__init__(f"the network's price feed {feed.url} {problem}", hint=HINT)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        raise urllib.error.HTTPError(newurl, code, f"redirects to {newurl}", headers, fp)


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch_price(feed: PriceFeed, *, timeout_s: float = TIMEOUT_S) -> float:
    """One GET of ``feed``: the price of 1 ETH in ``feed.currency``, or PriceFeedError."""
    # PriceFeed admits only https, and http to this machine: no file: or custom schemes reach here
    request = urllib.request.Request(feed.url, headers={"Accept": "application/json",  # noqa: S310
                                                        "User-Agent": "idlegrid-price"})
    try:
        with _OPENER.open(request, timeout=timeout_s) as answer:
            kind = answer.headers.get_content_type()
            body = answer.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as e:
        raise PriceFeedError(feed, f"answered HTTP {e.code} ({e.reason})") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise PriceFeedError(feed, f"cannot be reached ({reason})") from None
    if kind != "application/json" and not kind.endswith("+json"):
        raise PriceFeedError(feed, f"answered {kind}, not JSON")
    if len(body) > MAX_BYTES:
        raise PriceFeedError(feed, f"answered more than {MAX_BYTES:,} bytes; a price is a few dozen")
    try:
        document = loads(body, limits=LIMITS, what="its answer")
    except UntrustedJsonError as e:
        raise PriceFeedError(feed, f"is unusable: {e.message}") from None
    return _price_at(feed, document)


def _price_at(feed: PriceFeed, document: Any) -> float:
    value = document
    for key in feed.path.split("."):
        if not isinstance(value, dict) or key not in value:
            raise PriceFeedError(feed, f"answered without {feed.path!r} (no {key!r} in it)")
        value = value[key]
    if isinstance(value, str) and NUMBER_RE.match(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PriceFeedError(feed, f"answered {str(value)[:40]!r} at {feed.path!r}, not a number")
    price = float(value)
    if not math.isfinite(price) or not MIN_PRICE <= price <= MAX_PRICE:
        raise PriceFeedError(feed, f"answered {price:g} {feed.currency} for 1 ETH, which is not a plausible "
                                   f"price (expected between {MIN_PRICE:g} and {MAX_PRICE:g})")
    return price


@dataclass(frozen=True)
class Quote:
    """What is known of the feed now: the last good price (None: never had one) and the last
    failure since it (None: the last attempt succeeded)."""

    feed: PriceFeed
    price: float | None = None
    fetched_at: float | None = None
    error: PriceFeedError | None = None

    def age_words(self, now: float) -> str:
        """How old the price is, in plain words ("just now", "2 min ago")."""
        if self.fetched_at is None:
            return "never"
        return age_words(now - self.fetched_at)


def age_words(seconds: float) -> str:
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


class PriceCache:
    """The last answer of one feed; :meth:`refresh` asks it, :meth:`due` says whether to.

    Not thread-safe by itself: one caller at a time (the app runs one refresh at a time)."""

    def __init__(self, feed: PriceFeed, *, interval_s: float = INTERVAL_S, timeout_s: float = TIMEOUT_S) -> None:
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.quote = Quote(feed)
        self.asked_at: float | None = None

    @property
    def feed(self) -> PriceFeed:
        return self.quote.feed

    def due(self, now: float) -> bool:
        return self.asked_at is None or now - self.asked_at >= self.interval_s

    def refresh(self, now: float | None = None) -> Quote:
        """Ask the feed once; a failure keeps the last good price and records why."""
        self.asked_at = time.time() if now is None else now
        try:
            price = fetch_price(self.feed, timeout_s=self.timeout_s)
        except PriceFeedError as e:
            self.quote = replace(self.quote, error=e)
        else:
            self.quote = Quote(self.feed, price, self.asked_at)
        return self.quote

    def poll(self, now: float | None = None) -> Quote:
        """The quote, asking the feed first only when the last attempt is ``interval_s`` old."""
        moment = time.time() if now is None else now
        return self.refresh(moment) if self.due(moment) else self.quote
