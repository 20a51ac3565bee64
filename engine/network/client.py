"""A read-only client for the TaskMarket at an address, in the version deployed there.

For the callers that hold their own connection (the app's network check and wallet balance,
``idlegrid network add``) rather than a :class:`~engine.chain.settings.NetworkSettings` for
:func:`engine.chain.market.open_market`: the same rule, decided by the code on chain, so a v2
market is read through v2's bindings and never through v1's ABI.
"""

from __future__ import annotations

from web3 import Web3

from engine.chain.market import TaskMarket
from engine.chain.market_v2 import TaskMarketV2
from engine.chain.version import MarketVersion, market_version


def market_at(w3: Web3, address: str, version: MarketVersion | None = None) -> TaskMarket | TaskMarketV2:
    """The client for ``address``: v2's where ``version`` (read from the chain when not given)
    is v2, v1's otherwise (code of neither version gets v1's, as :func:`open_market` does)."""
    if version is None:
        version = market_version(w3, address)
    return TaskMarketV2(w3, address) if version is MarketVersion.V2 else TaskMarket(w3, address)
