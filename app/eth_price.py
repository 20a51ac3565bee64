"""Which ETH price the earnings use, and the words that say where it came from (no Qt).

The user's own ``[earnings] eth_price`` always wins: it is what they chose to believe. Without
it, the network profile's price feed (engine.network.price) fills in, but only when it quotes
the user's currency: the electricity price is in that currency, and converting it at a rate in
another would subtract a wrong amount. The label always says the source and, for the feed, how
old the figure is, so a stale price is never shown as if it were current.
"""

from __future__ import annotations

from app.profit import EarningsSettings
from engine.network.price import Quote


def priced(settings: EarningsSettings, quote: Quote | None, now: float) -> tuple[EarningsSettings, str]:
    """(the settings to compute with, a plain-words note on the ETH price; "" when there is none)."""
    currency = settings.currency
    if settings.eth_price > 0:
        return settings, f"ETH price: {money(settings.eth_price)} {currency}/ETH, your price (Settings)."
    if quote is None:
        return settings, ""
    feed = quote.feed
    if feed.currency != currency.upper():
        return settings, (f"The network's price feed quotes ETH in {feed.currency}, and your currency is "
                          f"{currency}: set an ETH price in {currency} in Settings to convert.")
    failed = f" (the latest attempt failed: {quote.error.problem})" if quote.error is not None else ""
    if quote.price is None:
        if quote.error is None:
            return settings, f"Asking the network's price feed ({feed.host}) for the price of ETH…"
        return settings, f"No ETH price: the network's price feed ({feed.host}) gave none{failed}."
    used = settings.model_copy(update={"eth_price": quote.price})
    return used, (f"ETH price: {money(quote.price)} {currency}/ETH from the network's price feed "
                  f"({feed.host}), {quote.age_words(now)}{failed}.")


def money(amount: float) -> str:
    """3,412.50; a price under 1 (ETH in BTC) keeps its significant digits."""
    return f"{amount:,.2f}" if amount >= 1 else f"{amount:.4g}"
