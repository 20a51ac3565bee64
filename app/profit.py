"""What the user nets: reward minus gas minus electricity (pure arithmetic, no Qt).

- **Reward**: the ledger's earned kinds (``engine.history.EARNED``: task rewards and disputes
  won, juror rewards, audit fees, stakes won on data faults, demand bonds, stakes forfeited to a
  requester). Stakes and bonds credited back (after an honest result, or a void dispute) were
  the user's own money: they are never counted.
- **Gas**: every fee this machine paid (claim, commit, finalize, withdraw).
- **Electricity**: the seconds spent training times the power drawn, times the user's price
  per kWh. The power is the GPU's own reading (NVML, averaged over the samples taken while
  training); on the CPU, where nothing measures it, :data:`CPU_ESTIMATE_W` (a desktop CPU's
  package power under full load on a few cores, as Intel and AMD rate their 65 W parts).
  The price is in the user's currency; it becomes ether through the user's ETH price. Without
  that price, electricity is shown in the currency beside the ether figures and not subtracted.
- **Estimated per hour / per day**: what the last hour actually paid, times 1 and 24.

The settings live in the ``[earnings]`` section of settings.toml (set in the wizard and in
Settings).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

WEI_PER_ETH = 10**18
J_PER_KWH = 3_600_000.0
CPU_ESTIMATE_W = 65.0
SECTION = "earnings"


class EarningsSettings(BaseModel):
    """``[earnings]``: the electricity price and an optional ETH price for the fiat view."""

    model_config = ConfigDict(extra="forbid")

    electricity_price: float = Field(0.0, ge=0, le=100, description="price of 1 kWh, in `currency`")
    currency: str = Field("EUR", min_length=1, max_length=8)
    eth_price: float = Field(0.0, ge=0, description="`currency` per ETH; 0: no fiat view")


@dataclass(frozen=True)
class Period:
    """One period's figures (today, this week, all time)."""

    reward_wei: int
    gas_wei: int
    work_s: float
    watts: float


@dataclass(frozen=True)
class Profit:
    reward_wei: int
    gas_wei: int
    kwh: float
    electricity_fiat: float
    electricity_wei: int | None  # None: no ETH price set, so it cannot be subtracted in ether
    net_wei: int

    @property
    def electricity_subtracted(self) -> bool:
        return self.electricity_wei is not None


def kwh(work_s: float, watts: float) -> float:
    return max(0.0, work_s) * max(0.0, watts) / J_PER_KWH


def fiat_to_wei(amount: float, eth_price: float) -> int | None:
    """``amount`` of the user's currency in wei at ``eth_price`` (None without a price)."""
    if eth_price <= 0:
        return None
    return round(amount / eth_price * WEI_PER_ETH)


def wei_to_fiat(wei: int, eth_price: float) -> float | None:
    return None if eth_price <= 0 else wei / WEI_PER_ETH * eth_price


def profit(period: Period, settings: EarningsSettings) -> Profit:
    """Net = reward - gas - electricity (electricity only where an ETH price converts it)."""
    energy = kwh(period.work_s, period.watts)
    cost = energy * settings.electricity_price
    cost_wei = fiat_to_wei(cost, settings.eth_price)
    net = period.reward_wei - period.gas_wei - (cost_wei or 0)
    return Profit(period.reward_wei, period.gas_wei, energy, cost, cost_wei, net)


def per_hour_and_day(paid_last_hour_wei: int) -> tuple[int, int]:
    """The estimate from the last hour's actual pay: (per hour, per day)."""
    return paid_last_hour_wei, paid_last_hour_wei * 24


def work_seconds(job_events: list[tuple[int | None, str, float]], since: float, until: float) -> float:
    """Seconds spent training in [since, until], from the JOB events ``(task_id, state, at)``:
    each task's "training" up to its next "uploaded" (or ``until`` while it still trains)."""
    started: dict[int, float] = {}
    total = 0.0
    for task_id, state, at in sorted(job_events, key=lambda e: e[2]):
        if task_id is None:
            continue
        if state == "training":
            started[task_id] = at
        elif state == "uploaded" and task_id in started:
            begin = started.pop(task_id)
            total += max(0.0, min(at, until) - max(begin, since))
    total += sum(max(0.0, until - max(begin, since)) for begin in started.values())
    return total


class PowerMeter:
    """The average power drawn while training, from the GPU readings the app takes."""

    def __init__(self) -> None:
        self.samples = 0
        self.total_w = 0.0

    def add(self, watts: float | None) -> None:
        if watts is not None and watts >= 0:
            self.samples += 1
            self.total_w += watts

    def watts(self) -> tuple[float, str]:
        """(watts, where the figure comes from) — measured, or the documented CPU estimate."""
        if self.samples:
            return self.total_w / self.samples, "measured"
        return CPU_ESTIMATE_W, "estimated"


def load_earnings_settings() -> EarningsSettings:
    """``[earnings]`` from settings.toml; a missing or broken section: the defaults (Settings
    shows the problem and saving repairs it)."""
    from engine.config import load_section
    from engine.errors import ConfigError

    try:
        return load_section(SECTION, EarningsSettings)
    except ConfigError:
        return EarningsSettings()
