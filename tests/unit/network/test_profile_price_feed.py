"""A profile's ``price_feed``: validated as strictly as the other fields, and a bad one is one
ProfileError naming the file and the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from engine.network.price_feed import PriceFeed
from engine.network.profiles import Profile, ProfileError, load_profile, profile_path, save_profile

MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
COINGECKO = "https://api.coingecko.com/api/v3/simple/price?ids=ethereum&vs_currencies=usd"


def profile(**fields: Any) -> Profile:
    return Profile(name="sepolia", chain_id=11155111, market_address=MARKET, deploy_block=3,
                   rpc_urls=["https://rpc.example"], **fields)


def test_a_profile_with_a_price_feed_round_trips_through_its_file() -> None:
    feed = PriceFeed(url=COINGECKO, path="ethereum.usd", currency="usd")
    save_profile(profile(price_feed=feed))
    loaded = load_profile("sepolia").price_feed
    assert loaded == feed and loaded is not None and loaded.currency == "USD"
    assert loaded.host == "api.coingecko.com"


def test_a_profile_without_a_feed_has_none() -> None:
    save_profile(profile())
    assert load_profile("sepolia").price_feed is None
    assert "price_feed" not in json.loads(profile_path("sepolia").read_text())


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/price", "http://localhost/p", "http://[::1]:9/p",
                                 "https://api.coinbase.com/v2/prices/ETH-USD/spot"])
def test_https_or_http_to_this_machine_is_accepted(url: str) -> None:
    assert PriceFeed(url=url, path="data.amount", currency="USD").url == url


@pytest.mark.parametrize(("fields", "problem"), [
    ({"url": "http://prices.example.org/eth"}, "plain http to another machine"),
    ({"url": "ftp://prices.example.org/eth"}, "is not an https URL with a host"),
    ({"url": "https:///eth"}, "is not an https URL with a host"),
    ({"path": "ethereum..usd"}, "is not a dotted path"),
    ({"path": "a.b.c.d.e.f.g.h.i"}, "is not a dotted path"),
    ({"currency": "US$"}, "is not a currency code"),
    ({"extra": 1}, "Extra inputs are not permitted"),
])
def test_a_bad_feed_is_refused(fields: dict[str, Any], problem: str) -> None:
    good = {"url": COINGECKO, "path": "ethereum.usd", "currency": "USD"}
    with pytest.raises(ValidationError, match=problem):
        PriceFeed.model_validate(good | fields)


def test_a_bad_feed_in_a_profile_file_names_the_file_and_the_field() -> None:
    path = save_profile(profile())
    data = json.loads(path.read_text())
    data["price_feed"] = {"url": "http://prices.example.org/eth", "path": "ethereum.usd", "currency": "USD"}
    path.write_text(json.dumps(data))
    with pytest.raises(ProfileError) as caught:
        load_profile("sepolia")
    assert f"the network profile {path}: price_feed.url: " in caught.value.message
    assert "use https" in caught.value.message
    assert caught.value.hint == f"fix price_feed.url in {path}, or remove the file and add the profile again"
