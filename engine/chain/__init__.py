"""engine.chain: the web3 client of the TaskMarket contract, and the local devnet (anvil).

- ``rpc``: ``connect(url)`` with retry/back-off -> ``RpcUnreachable``; web3 errors translated.
- ``sender``: nonce tracking, ``prepare``/``broadcast``/``wait``/``reconcile`` (crash-safe sends).
- ``market``: ``TaskMarket`` typed wrapper, ``Task``/``Dispute`` and one dataclass per event.
- ``events``: ``EventPoller`` + ``EventCursor`` (caller-persisted position, confirmation depth).
- ``anvil`` / ``devnet``: the anvil launcher, deployment, funding and ``deployment.json``.
- ``settings``: the ``[network]`` settings section; ``errors``: the chain error types.
"""
