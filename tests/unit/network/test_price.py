"""The ETH price feed: a real HTTP server on 127.0.0.1 answering good and hostile answers; each
hostile one is refused with one PriceFeedError that names the feed and a fix."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from engine.errors import IdlegridError
from engine.network.price import INTERVAL_S, MAX_BYTES, PriceCache, PriceFeedError, age_words, fetch_price
from engine.network.price_feed import PriceFeed
from tests.pricefeed import Answer, PriceServer, price_server


@pytest.fixture
def server() -> Iterator[PriceServer]:
    with price_server() as s:
        yield s


def feed(server: PriceServer, path: str = "ethereum.usd") -> PriceFeed:
    return PriceFeed(url=server.url, path=path, currency="usd")


def test_a_coingecko_style_number_is_the_price(server: PriceServer) -> None:
    assert fetch_price(feed(server)) == 3412.5


def test_a_coinbase_style_numeric_string_is_accepted(server: PriceServer) -> None:
    server.answer = Answer(b'{"data": {"base": "ETH", "currency": "USD", "amount": "3412.50"}}',
                           content_type="application/json")
    assert fetch_price(feed(server, "data.amount")) == 3412.5


HOSTILE = {
    "html": (Answer(b"<html>3412</html>", content_type="text/html"), "answered text/html, not JSON"),
    "not_json": (Answer(b"{ethereum: 3412}"), "is not valid JSON"),
    "huge": (Answer(b'{"pad": "' + b"x" * MAX_BYTES + b'"}'), f"more than {MAX_BYTES:,} bytes"),
    "deep": (Answer(b"[" * 1000 + b"]" * 1000), "is nested deeper than 8 levels"),
    "missing_path": (Answer(b'{"ethereum": {"eur": 3100}}'), "without 'ethereum.usd' (no 'usd' in it)"),
    "not_an_object": (Answer(b'{"ethereum": [3412]}'), "without 'ethereum.usd'"),
    "nan": (Answer(b'{"ethereum": {"usd": NaN}}'), "holds NaN"),
    "overflow": (Answer(b'{"ethereum": {"usd": 1e999}}'), "overflows a 64-bit float"),
    "negative": (Answer(b'{"ethereum": {"usd": -3412}}'), "-3412 usd for 1 ETH, which is not a plausible price"),
    "zero": (Answer(b'{"ethereum": {"usd": 0}}'), "answered 0 USD for 1 ETH"),
    "absurd": (Answer(b'{"ethereum": {"usd": 1e15}}'), "answered 1e+15 USD for 1 ETH"),
    "word": (Answer(b'{"ethereum": {"usd": "lots"}}'), "answered 'lots' at 'ethereum.usd', not a number"),
    "bool": (Answer(b'{"ethereum": {"usd": true}}'), "answered 'True' at 'ethereum.usd', not a number"),
    "duplicate_key": (Answer(b'{"ethereum": {"usd": 1, "usd": 3412}}'), "has the key 'usd' twice"),
    "http_error": (Answer(b"{}", status=503), "answered HTTP 503"),
    "redirect": (Answer(b"", status=302, headers={"Location": "http://example.org/price"}),
                 "answered HTTP 302 (redirects to http://example.org/price)"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_answer_is_one_clear_error(server: PriceServer, case: str) -> None:
    server.answer, expected = HOSTILE[case]
    with pytest.raises(PriceFeedError) as caught:
        fetch_price(feed(server))
    message = str(caught.value)
    assert expected.lower() in message.lower()
    assert message.startswith(f"the network's price feed {server.url} ")
    assert "set your own ETH price in Settings" in (caught.value.hint or "")
    assert isinstance(caught.value, IdlegridError) and caught.value.__cause__ is None


def test_a_feed_that_does_not_answer_in_time_is_refused(server: PriceServer) -> None:
    server.answer = Answer(hold=True)  # held until the server closes: only the timeout ends the wait
    with pytest.raises(PriceFeedError, match="cannot be reached"):
        fetch_price(feed(server), timeout_s=0.3)


def test_a_feed_nobody_listens_on_is_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gone = PriceFeed(url=f"http://127.0.0.1:{port}/price", path="ethereum.usd", currency="USD")
    with pytest.raises(PriceFeedError, match="cannot be reached"):
        fetch_price(gone)


def test_the_cache_asks_at_most_once_per_interval(server: PriceServer) -> None:
    cache = PriceCache(feed(server))
    assert cache.poll(now=1000.0).price == 3412.5
    server.answer = Answer(b'{"ethereum": {"usd": 3500}}')
    assert cache.poll(now=1000.0 + INTERVAL_S - 1).price == 3412.5
    assert server.requests == 1
    assert cache.poll(now=1000.0 + INTERVAL_S).price == 3500.0
    assert server.requests == 2


def test_a_failed_fetch_keeps_the_last_good_price_and_its_age(server: PriceServer) -> None:
    cache = PriceCache(feed(server))
    cache.poll(now=1000.0)
    server.answer = Answer(b"oops", status=500)
    quote = cache.poll(now=1000.0 + INTERVAL_S)
    assert quote.price == 3412.5 and quote.fetched_at == 1000.0
    assert quote.error is not None and "answered HTTP 500" in quote.error.message
    assert quote.age_words(1000.0 + 7 * 60) == "7 min ago"
    assert cache.poll(now=1000.0 + INTERVAL_S + 1) is quote  # a failure counts as an attempt too
    assert server.requests == 2
    server.answer = Answer()
    assert cache.poll(now=1000.0 + 2 * INTERVAL_S).error is None


def test_ages_read_as_plain_words() -> None:
    cache = PriceCache(PriceFeed(url="https://example.org/p", path="a", currency="EUR"))
    assert cache.quote.age_words(0) == "never"
    assert [age_words(s) for s in (5, 125, 3 * 3600, 3 * 86400)] == ["just now", "2 min ago", "3 h ago", "3 days ago"]
