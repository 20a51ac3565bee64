"""Earnings first: earned today, this week and all time, what it nets after gas and electricity,
the estimate per hour and per day from the last hour's actual pay, and Withdraw.

The arithmetic is :mod:`app.profit`'s. Withdraw asks first (destination, amount, fee) and then
shows a receipt with the full, copyable transaction hash. The returned stake is never earnings:
"Paid" figures are the ledger's earned kinds only (rewards, disputes won, juror rewards, audit
fees, stakes won on data faults, demand bonds); a box lists every ledger kind's total under its
label (engine.history's ``KIND_INFO``). The per-day chart sits in a box the user can collapse.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.bridge import EngineBridge
from app.charts import BarChart
from app.eth_price import priced
from app.format import eth
from app.profit import (
    EarningsSettings,
    Period,
    Profit,
    per_hour_and_day,
    profit,
    wei_to_fiat,
)
from engine.errors import IdlegridError
from engine.events import EngineEvent
from engine.history import KIND_INFO, Flow
from engine.network.price import Quote
from engine.units import WEI_PER_ETH

ROWS = ("pending", "claimable", "withdrawn", "slashed", "gas_paid", "returned", "fined")
TITLES = {"pending": "Pending (in the challenge window)", "claimable": "Ready to withdraw", "withdrawn": "Withdrawn",
          "slashed": "Lost to disputes", "gas_paid": "Fees paid (gas)",
          "returned": "Stakes and bonds returned (not earnings)", "fined": "Jury fines"}
# the breakdown by ledger kind: what each kind of entry added up to, earned first (locked money is
# not shown: it comes back as "returned" or goes as "slashed")
FLOW_ORDER = (Flow.EARNED, Flow.RETURNED, Flow.LOST, Flow.SPENT, Flow.WITHDRAWN)
BREAKDOWN = tuple(kind for flow in FLOW_ORDER for kind, info in KIND_INFO.items() if info.flow is flow)
FLOW_WORDS = {Flow.EARNED: "earned", Flow.RETURNED: "returned", Flow.LOST: "lost", Flow.SPENT: "spent",
              Flow.WITHDRAWN: "withdrawn"}
PERIODS = ("today", "week", "all")
PERIOD_TITLES = {"today": "Today", "week": "This week", "all": "All time"}

# withdraw(on_done(tx_hash), on_error(error)); gas(on_done(wei), on_error(error))
AsyncAction = Callable[[Callable[[Any], None], Callable[[IdlegridError], None]], None]
# asks the user; True: send. Tests answer it themselves (the real one is a modal dialog).
Confirm = Callable[[QWidget, "WithdrawPlan"], bool]


@dataclass(frozen=True)
class WithdrawPlan:
    destination: str
    amount_wei: int
    fee_wei: int | None


def confirm_dialog(parent: QWidget, plan: WithdrawPlan) -> bool:
    fee = eth(plan.fee_wei) if plan.fee_wei is not None else "not estimated yet"
    box = QMessageBox(QMessageBox.Icon.Question, "Withdraw your earnings?",
                      f"Send {eth(plan.amount_wei)} to your wallet?", parent=parent)
    box.setInformativeText(f"To: {plan.destination}\nAmount: {eth(plan.amount_wei)}\nFee (gas, paid from the "
                           f"wallet): about {fee}")
    box.setObjectName("withdrawConfirm")
    send = box.addButton("Withdraw", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is send


class Receipt(QDialog):
    """The withdrawal's receipt: amount, destination and the full transaction hash, copyable."""

    def __init__(self, plan: WithdrawPlan, tx_hash: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Withdrawal sent")
        self.setObjectName("withdrawReceipt")
        self.hash = QLineEdit(tx_hash, readOnly=True)
        self.hash.setAccessibleName("Transaction hash")
        self.hash.setMinimumWidth(self.hash.fontMetrics().horizontalAdvance(tx_hash) + 24)
        copy = QPushButton("Copy hash")
        copy.setAccessibleName("Copy the transaction hash")
        copy.clicked.connect(self._copy_hash)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{eth(plan.amount_wei)} is on its way to {plan.destination}."))
        layout.addWidget(QLabel("Transaction:"))
        layout.addWidget(self.hash)
        layout.addWidget(copy)
        layout.addWidget(buttons)

    def _copy_hash(self) -> None:
        self.hash.selectAll()
        self.hash.copy()


class EarningsPanel(QWidget):
    def __init__(self, bridge: EngineBridge, *, withdraw: AsyncAction | None = None,
                 gas_estimate: AsyncAction | None = None, destination: Callable[[], str] = lambda: "your wallet",
                 confirm: Confirm = confirm_dialog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._withdraw = withdraw
        self._gas_estimate = gas_estimate
        self._destination = destination
        self.confirm = confirm
        self.settings = EarningsSettings()
        self.quote: Quote | None = None
        self._shown: tuple[dict[str, Period], EarningsSettings, int, str] | None = None
        self.values: dict[str, int] = {}
        self.labels: dict[str, QLabel] = {}
        self.profits: dict[str, Profit] = {}
        self.period_labels: dict[tuple[str, str], QLabel] = {}
        self.receipt: Receipt | None = None
        self._sending = WithdrawPlan("your wallet", 0, None)
        grid = QGridLayout()
        grid.addWidget(QLabel(""), 0, 0)
        for col, period in enumerate(PERIODS, start=1):
            grid.addWidget(_bold(PERIOD_TITLES[period]), 0, col, Qt.AlignmentFlag.AlignRight)
        for row, (key, title) in enumerate((("reward", "Earned"), ("gas", "Fees (gas)"),
                                            ("power", "Electricity"), ("net", "Net profit")), start=1):
            grid.addWidget(_bold(title) if key == "net" else QLabel(title), row, 0)
            for col, period in enumerate(PERIODS, start=1):
                label = QLabel("–")
                label.setObjectName(f"{key}_{period}")
                label.setAccessibleName(f"{title}, {PERIOD_TITLES[period]}")
                label.setAlignment(Qt.AlignmentFlag.AlignRight)
                label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.period_labels[(key, period)] = label
                grid.addWidget(label, row, col)
        self.rate = QLabel("Estimate: – per hour, – per day (from the last hour's pay)")
        self.rate.setObjectName("earningsRate")
        self.price_note = QLabel("")
        self.price_note.setObjectName("ethPriceNote")
        self.price_note.setWordWrap(True)
        self.power_note = QLabel("")
        self.power_note.setObjectName("powerNote")
        self.power_note.setWordWrap(True)
        totals = QGridLayout()
        for i, name in enumerate(ROWS):
            self.labels[name] = QLabel("–")
            self.labels[name].setObjectName(f"earnings_{name}")
            self.labels[name].setAccessibleName(TITLES[name])
            totals.addWidget(QLabel(TITLES[name]), i // 2, 2 * (i % 2))
            totals.addWidget(self.labels[name], i // 2, 2 * (i % 2) + 1)
        self.kind_values: dict[str, QLabel] = {}
        self.kind_titles: dict[str, QLabel] = {}
        self.kind_flows: dict[str, QLabel] = {}
        self.breakdown = QGroupBox("By kind (all time)")
        self.breakdown.setObjectName("earningsByKind")
        kinds = QGridLayout(self.breakdown)
        for i, kind in enumerate(BREAKDOWN):
            info = KIND_INFO[kind]
            cells = (QLabel(info.label), QLabel(FLOW_WORDS[info.flow]), QLabel("–"))
            cells[0].setToolTip(info.what)
            cells[2].setObjectName(f"kind_{kind.value}")
            cells[2].setAccessibleName(info.label)
            cells[2].setAlignment(Qt.AlignmentFlag.AlignRight)
            self.kind_titles[kind.value], self.kind_flows[kind.value], self.kind_values[kind.value] = cells
            for col, cell in enumerate(cells):
                kinds.addWidget(cell, i, col)
                cell.setVisible(False)
        self.by_kind: dict[str, int] = {}
        self.withdraw_button = QPushButton("Withdraw")
        self.withdraw_button.setObjectName("withdrawButton")
        self.withdraw_button.setAccessibleName("Withdraw your earnings to your wallet")
        self.withdraw_button.setEnabled(False)
        self.withdraw_button.clicked.connect(self.withdraw)
        self.status = QLabel("")
        self.status.setObjectName("withdrawStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.gas_wei: int | None = None
        self.chart = BarChart("Earned per day", lambda v: f"{v:.4g} ETH")
        self.chart_box = QGroupBox("Earned per day (last 30 days)")
        self.chart_box.setCheckable(True)
        self.chart_box.setChecked(True)
        self.chart_box.setAccessibleName("Show the chart of earnings per day")
        box_layout = QVBoxLayout(self.chart_box)
        box_layout.addWidget(self.chart)
        self.chart_box.toggled.connect(self.chart.setVisible)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.rate)
        layout.addWidget(self.price_note)
        layout.addWidget(self.power_note)
        layout.addLayout(totals)
        layout.addWidget(self.breakdown)
        layout.addWidget(self.withdraw_button)
        layout.addWidget(self.status)
        layout.addWidget(self.chart_box, 1)
        bridge.earnings.connect(self.on_earnings_event)

    # data in -------------------------------------------------------------------------------
    def on_earnings_event(self, event: EngineEvent) -> None:
        self.set_totals({k: int(v) for k, v in event.data.items() if k in ROWS and v is not None})

    def set_earnings(self, earnings: Any) -> None:
        """From engine.history's Earnings."""
        self.set_totals({row: int(getattr(earnings, row)) for row in ROWS if getattr(earnings, row, None) is not None})
        self.set_by_kind(dict(getattr(earnings, "by_kind", {}) or {}))

    def set_by_kind(self, by_kind: dict[str, int]) -> None:
        """Each ledger kind with a total, under its label; the kinds with none are hidden."""
        self.by_kind = {kind: int(wei) for kind, wei in by_kind.items() if int(wei) and kind in self.kind_values}
        for kind, value in self.kind_values.items():
            shown = kind in self.by_kind
            value.setText(self._money(self.by_kind[kind]) if shown else "–")
            value.setVisible(shown)
            self.kind_titles[kind].setVisible(shown)
            self.kind_flows[kind].setVisible(shown)
        self.breakdown.setVisible(bool(self.by_kind))

    def set_totals(self, totals: dict[str, int]) -> None:
        before = self.values.get("claimable")
        self.values.update(totals)
        for row, wei in self.values.items():
            self.labels[row].setText(self._money(wei))
        if self.values.get("claimable") != before:
            self.gas_wei = None
            self._update_button()
            if self.values.get("claimable", 0) > 0 and self._gas_estimate is not None:
                self._gas_estimate(self._on_gas, self._on_gas_error)

    def set_periods(self, periods: dict[str, Period], settings: EarningsSettings, paid_last_hour_wei: int,
                    power_source: str) -> None:
        """Today, this week, all time: earned, fees, electricity and net (app.profit), at the
        user's ETH price or else the network feed's (app.eth_price)."""
        self._shown = (periods, settings, paid_last_hour_wei, power_source)
        self.settings, words = priced(settings, self.quote, time.time())
        self.price_note.setText(words)
        settings = self.settings
        for period, figures in periods.items():
            result = profit(figures, settings)
            self.profits[period] = result
            self.period_labels[("reward", period)].setText(self._money(result.reward_wei))
            self.period_labels[("gas", period)].setText(self._money(-result.gas_wei))
            self.period_labels[("power", period)].setText(self._power(result))
            self.period_labels[("net", period)].setText(self._money(result.net_wei))
        hour, day = per_hour_and_day(paid_last_hour_wei)
        self.rate.setText(f"Estimate: {self._money(hour)} per hour, {self._money(day)} per day "
                          "(from what the last hour paid)")
        watts = next(iter(periods.values())).watts if periods else 0.0
        note = f"Electricity: {watts:.0f} W {power_source} × {settings.electricity_price:g} {settings.currency}/kWh"
        if settings.electricity_price <= 0:
            note = "Set your electricity price in Settings to subtract what the power costs."
        elif settings.eth_price <= 0:
            note += f"; set an ETH price in {settings.currency} in Settings to subtract it from the net profit."
        self.power_note.setText(note)

    def set_quote(self, quote: Quote | None) -> None:
        """The network feed's latest quote: the figures are shown again at its price."""
        self.quote = quote
        if self._shown is not None:
            self.set_periods(*self._shown)

    def set_per_day(self, per_day: Sequence[tuple[str, int]]) -> None:
        self.chart.set_bars([(day[5:], wei / WEI_PER_ETH) for day, wei in per_day])

    def _money(self, wei: int) -> str:
        fiat = wei_to_fiat(wei, self.settings.eth_price)
        return eth(wei) + (f" ({fiat:,.2f} {self.settings.currency})" if fiat is not None else "")

    def _power(self, result: Profit) -> str:
        if result.electricity_wei is not None:
            return self._money(-result.electricity_wei)
        return f"{result.kwh:.3f} kWh, {result.electricity_fiat:.2f} {self.settings.currency}"

    # withdraw ------------------------------------------------------------------------------
    def _update_button(self) -> None:
        claimable = self.values.get("claimable", 0)
        can = claimable > 0 and self._withdraw is not None
        self.withdraw_button.setEnabled(can)
        if not can:
            self.withdraw_button.setText("Withdraw (nothing to withdraw yet)" if claimable == 0 else "Withdraw")
        elif self.gas_wei is None:
            self.withdraw_button.setText(f"Withdraw {eth(claimable)}…")
        else:
            self.withdraw_button.setText(f"Withdraw {eth(claimable)}… (fee ≈ {eth(self.gas_wei)})")

    def _on_gas(self, wei: int) -> None:
        self.gas_wei = int(wei)
        self._update_button()

    def _on_gas_error(self, error: IdlegridError) -> None:
        self.status.setText(f"Cannot estimate the fee: {error.message}")

    def plan(self) -> WithdrawPlan:
        return WithdrawPlan(self._destination(), self.values.get("claimable", 0), self.gas_wei)

    def withdraw(self) -> None:
        """Ask first (destination, amount, fee); send only on yes."""
        if self._withdraw is None:
            return
        plan = self.plan()
        if not self.confirm(self, plan):
            self.status.setText("Withdrawal cancelled: nothing was sent.")
            return
        self._sending = plan
        self.withdraw_button.setEnabled(False)
        self.status.setText("Sending the withdrawal…")
        self._withdraw(self._on_withdrawn, self._on_withdraw_error)

    def _on_withdrawn(self, tx_hash: str) -> None:
        self.status.setText(f"Withdrawn: transaction {tx_hash}")
        self.receipt = Receipt(self._sending, str(tx_hash), self)
        self.receipt.open()
        self._update_button()

    def _on_withdraw_error(self, error: IdlegridError) -> None:
        self.status.setText(f"Withdrawal failed: {error.message}" + (f" ({error.hint})" if error.hint else ""))
        self._update_button()


def _bold(text: str) -> QLabel:
    label = QLabel(f"<b>{text}</b>")
    label.setTextFormat(Qt.TextFormat.RichText)
    return label
