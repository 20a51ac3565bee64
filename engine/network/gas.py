"""Whether a task's gas would eat too much of its reward: the worker waits instead of claiming.

A job costs the worker four transactions (claimTask, submitResult, finalize, withdraw). On a
public chain a fee spike can make that cost more than the task pays; the worker then keeps
the task as a candidate and says, in plain words, that it is waiting because gas is too high.
"""

from __future__ import annotations

from engine.units import format_eth

# Gas of the worker's claimTask + submitResult + finalize + withdraw, measured: `python -m bench.gas`
# prints it as gas_worker_job_total (180,801 on a warm market), and a real job of the worker on anvil
# used 180,525 (tests/integration/worker/test_happy_path.py reads its receipts and fails if this
# figure is more than 20 % off). Rounded up to the next thousand.
EXPECTED_JOB_GAS = 181_000
DEFAULT_MAX_SHARE = 0.25


def job_gas_cost(gas_price: int, gas: int = EXPECTED_JOB_GAS) -> int:
    """Wei a whole job's transactions cost at ``gas_price``."""
    return gas * gas_price


def gas_too_high(reward: int, gas_price: int, *, max_share: float = DEFAULT_MAX_SHARE,
                 ceiling: int | None = None, gas: int = EXPECTED_JOB_GAS) -> str | None:
    """The plain-words reason to wait (``waiting: gas too high ...``), None when gas is fine:
    the price is over the user's fee ceiling, or the job's gas is over ``max_share`` of ``reward``."""
    if ceiling is not None and gas_price > ceiling:
        return (f"waiting: gas too high ({gas_price / 1e9:.3g} gwei, over your ceiling of "
                f"{ceiling / 1e9:.3g} gwei)")
    cost = job_gas_cost(gas_price, gas)
    if cost > reward * max_share:
        return (f"waiting: gas too high (about {format_eth(cost, digits=6)} ETH of gas for a reward of "
                f"{format_eth(reward, digits=6)} ETH, over your {max_share:.0%} limit)")
    return None
