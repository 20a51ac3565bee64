"""engine.chain: the web3 client of the TaskMarket contract, and the local devnet (anvil).

- ``rpc``: ``connect(url, fallbacks=...)`` with failover, retry/back-off on failures and rate
  limits -> ``RpcUnreachable``; web3 errors translated.
- ``sender``: nonce tracking, ``prepare``/``broadcast``/``wait``/``reconcile`` (crash-safe sends),
  EIP-1559 fees under a ceiling, replacements at today's base fee, receipts counted once deep.
- ``market``: ``TaskMarket`` typed wrapper, ``Task``/``Dispute`` and one dataclass per event.
  ``market_v2``/``records_v2``: the same for TaskMarketV2; ``version``: which of the two the code
  at an address is (``open_market`` returns the matching client).
- ``events``: ``EventPoller`` + ``EventCursor`` (caller-persisted position, confirmation depth),
  ``LogReader`` (getLogs windows halved when a provider refuses them).
- ``anvil`` / ``devnet``: the anvil launcher, deployment, funding and ``deployment.json``.
- ``settings``: the ``[network]`` settings section (``profile`` names one of
  :mod:`engine.network.profiles`); ``errors``: the chain error types.
"""
