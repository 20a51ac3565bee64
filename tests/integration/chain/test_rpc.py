"""The connection: an unreachable node is one clear error after retries, never a web3 traceback."""

from __future__ import annotations

import time

import pytest

from engine.chain.anvil import Anvil, AnvilConfig, free_port
from engine.chain.errors import RpcUnreachable, WrongChain
from engine.chain.rpc import RetryPolicy, connect, revert_reason
from tests.rpcproxy import RpcProxy

FAST = RetryPolicy(attempts=3, first_delay=0.1, factor=2.0)
ZERO = "0x" + "00" * 20


def test_nothing_listening_raises_rpc_unreachable_after_backing_off() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(RpcUnreachable) as e:
        connect(url, policy=FAST)
    assert time.monotonic() - start >= 0.1 + 0.2
    assert e.value.attempts == 3 and e.value.url == url
    assert "connection refused" in e.value.message and "idlegrid devnet" in e.value.hint


def test_a_node_that_goes_down_mid_session_raises_rpc_unreachable(tmp_path) -> None:
    node = Anvil(AnvilConfig(port=free_port(), log_file=tmp_path / "anvil.log")).start()
    w3 = connect(node.url, policy=FAST)
    assert w3.eth.block_number == 0
    node.stop()
    with pytest.raises(RpcUnreachable):
        _ = w3.eth.block_number


def test_the_wrong_chain_id_is_refused(anvil_node) -> None:
    with pytest.raises(WrongChain, match="chain id 31337, not the configured 1"):
        connect(anvil_node.url, expected_chain_id=1)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("0x08c379a0" + "20".rjust(64, "0") + "05".rjust(64, "0") + b"hello".hex().ljust(64, "0"), "hello"),
        ("0x4e487b71" + "11".rjust(64, "0"), "panic 0x11"),
        ("0xdeadbeef", "execution reverted (data 0xdeadbeef)"),
        (None, "execution reverted (no reason given)"),
    ],
)
def test_revert_data_is_decoded_into_its_reason(data, reason) -> None:
    assert revert_reason(data) == reason


def test_calls_and_gas_estimates_ask_the_node_nothing_but_themselves(anvil_node) -> None:
    # web3's validation middleware asked eth_chainId before every eth_call and eth_estimateGas:
    # a round trip each, and 13 % of a search coordinator's CPU.
    proxy = RpcProxy(anvil_node.url).start()
    try:
        w3 = connect(proxy.url)
        before = len(proxy.methods)
        tx = {"from": ZERO, "to": ZERO, "value": 0}
        w3.eth.call(tx)  # type: ignore[arg-type]
        w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
        _ = w3.eth.get_block("latest")
        assert proxy.methods[before:] == ["eth_call", "eth_estimateGas", "eth_getBlockByNumber"]
        assert proxy.methods.count("eth_chainId") == 1  # connect's own check
    finally:
        proxy.kill()
