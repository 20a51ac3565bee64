"""The ``price_feed`` field of a network profile: where the app may read the price of 1 ETH.

A network's operators know which public price a hobbyist on their network would trust, so a
profile may name one JSON endpoint and the dotted path to the number in its answer:
CoinGecko's ``simple/price?ids=ethereum&vs_currencies=usd`` answers ``{"ethereum": {"usd":
3412.5}}`` (path ``ethereum.usd``); Coinbase's ``v2/prices/ETH-USD/spot`` answers ``{"data":
{"amount": "3412.50", ...}}`` (path ``data.amount``). Only https is accepted, except plain http
to this machine (a local feed, and the tests' server): a price read in clear text from afar
could be rewritten on the way and would move the user's net profit.

The fetcher lives in :mod:`engine.network.price`; this module is only the validated record, so
profiles can hold it without importing any HTTP code.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
PATH_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$")
CURRENCY_RE = re.compile(r"^[A-Za-z]{2,8}$")


class PriceFeed(BaseModel):
    """One JSON endpoint quoting 1 ETH in ``currency``; ``path`` leads to the number."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(max_length=2_000)
    path: str
    currency: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_feed_url(value)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not PATH_RE.match(value):
            raise ValueError(f"{value!r} is not a dotted path to the price (keys of letters, digits, '_' or '-' "
                             "joined by '.', at most 8 of them), e.g. 'ethereum.usd' or 'data.amount'")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not CURRENCY_RE.match(value):
            raise ValueError(f"{value!r} is not a currency code (2 to 8 letters), e.g. 'USD' or 'EUR'")
        return value.upper()

    @property
    def host(self) -> str:
        """Where the price comes from, in a label's words."""
        return urlsplit(self.url).hostname or self.url


def check_feed_url(url: str) -> str:
    """``url`` itself when it is https with a host, or http to this machine; else ValueError."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as e:
        raise ValueError(f"{url!r} is not a URL ({e})") from None
    if not host or parts.scheme not in ("https", "http"):
        raise ValueError(f"{url!r} is not an https URL with a host, e.g. 'https://api.coingecko.com/api/v3/"
                         "simple/price?ids=ethereum&vs_currencies=usd'")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValueError(f"{url!r} is plain http to another machine; a price read in clear text can be altered "
                         "on the way: use https (http is accepted only for localhost and 127.0.0.1)")
    return url
