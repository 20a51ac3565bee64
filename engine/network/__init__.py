"""Network profiles: which chain, which market, how to reach and pay for it.

- ``profiles``: the :class:`Profile` record, stored one JSON file per network under
  ``<config dir>/networks/``; the devnet is the built-in profile ``devnet``.
- ``deploy``: deploy TaskMarket from the shipped artifact and describe it as a profile.
- ``gas``: whether a task's gas would eat too much of its reward.
- ``price_feed``: a profile's optional ETH price feed (the validated record);
  ``price``: fetching it as hostile input, cached, keeping the last good price.
"""
