"""Earnings: pending (still in a challenge window), claimable, withdrawn, a per-day chart, and
the Withdraw button, which says what gas the withdrawal will cost before you press it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.bridge import EngineBridge
from app.format import WEI_PER_ETH, eth
from engine.errors import IdlegridError
from engine.events import EngineEvent

ROWS = ("pending", "claimable", "withdrawn", "slashed", "gas_paid")
TITLES = {"pending": "Pending (in challenge window)", "claimable": "Claimable", "withdrawn": "Withdrawn",
          "slashed": "Slashed", "gas_paid": "Gas paid"}

# withdraw(on_done(tx_hash), on_error(error)); gas(on_done(wei), on_error(error))
AsyncAction = Callable[[Callable[[Any], None], Callable[[IdlegridError], None]], None]


class EarningsPanel(QWidget):
    def __init__(self, bridge: EngineBridge, *, withdraw: AsyncAction | None = None,
                 gas_estimate: AsyncAction | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._withdraw = withdraw
        self._gas_estimate = gas_estimate
        self.values: dict[str, int] = {}
        self.labels: dict[str, QLabel] = {}
        form = QFormLayout()
        for row in ROWS:
            self.labels[row] = QLabel("–")
            self.labels[row].setObjectName(f"earnings_{row}")
            form.addRow(TITLES[row], self.labels[row])
        self.withdraw_button = QPushButton("Withdraw")
        self.withdraw_button.setObjectName("withdrawButton")
        self.withdraw_button.setEnabled(False)
        self.withdraw_button.clicked.connect(self.withdraw)
        self.status = QLabel("")
        self.status.setObjectName("withdrawStatus")
        self.status.setWordWrap(True)
        self.gas_wei: int | None = None
        self.chart = pg.PlotWidget()
        self.chart.setBackground(None)
        self.chart.setLabel("left", "earned (ETH)")
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.hideButtons()
        self.chart.setMinimumHeight(120)
        self.bars: pg.BarGraphItem | None = None
        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(self.withdraw_button)
        left.addWidget(self.status)
        left.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 1)
        layout.addWidget(self.chart, 2)
        bridge.earnings.connect(self.on_earnings_event)

    # data in -------------------------------------------------------------------------------
    def on_earnings_event(self, event: EngineEvent) -> None:
        self.set_totals({k: int(v) for k, v in event.data.items() if k in ROWS and v is not None})

    def set_earnings(self, earnings: Any) -> None:
        """From engine.history's Earnings."""
        self.set_totals({row: int(getattr(earnings, row)) for row in ROWS if getattr(earnings, row, None) is not None})

    def set_totals(self, totals: dict[str, int]) -> None:
        before = self.values.get("claimable")
        self.values.update(totals)
        for row, wei in self.values.items():
            self.labels[row].setText(eth(wei))
        if self.values.get("claimable") != before:
            self.gas_wei = None
            self._update_button()
            if self.values.get("claimable", 0) > 0 and self._gas_estimate is not None:
                self._gas_estimate(self._on_gas, self._on_gas_error)

    def set_per_day(self, per_day: Sequence[tuple[str, int]]) -> None:
        if self.bars is not None:
            self.chart.removeItem(self.bars)
        heights = [wei / WEI_PER_ETH for _, wei in per_day]
        self.bars = pg.BarGraphItem(x=list(range(len(heights))), height=heights, width=0.7, brush="#16a34a")
        self.chart.addItem(self.bars)
        ticks = [(i, day[5:]) for i, (day, _) in enumerate(per_day) if i % max(1, len(per_day) // 6) == 0]
        self.chart.getAxis("bottom").setTicks([ticks])

    # withdraw ------------------------------------------------------------------------------
    def _update_button(self) -> None:
        claimable = self.values.get("claimable", 0)
        can = claimable > 0 and self._withdraw is not None
        self.withdraw_button.setEnabled(can)
        if not can:
            self.withdraw_button.setText("Withdraw (nothing to claim)" if claimable == 0 else "Withdraw")
        elif self.gas_wei is None:
            self.withdraw_button.setText(f"Withdraw {eth(claimable)} (estimating gas…)")
        else:
            self.withdraw_button.setText(f"Withdraw {eth(claimable)} (gas ≈ {eth(self.gas_wei)})")

    def _on_gas(self, wei: int) -> None:
        self.gas_wei = int(wei)
        self._update_button()

    def _on_gas_error(self, error: IdlegridError) -> None:
        self.status.setText(f"cannot estimate the gas: {error.message}")

    def withdraw(self) -> None:
        if self._withdraw is None:
            return
        self.withdraw_button.setEnabled(False)
        self.status.setText("sending the withdrawal…")
        self._withdraw(self._on_withdrawn, self._on_withdraw_error)

    def _on_withdrawn(self, tx_hash: str) -> None:
        self.status.setText(f"withdrawn: transaction {tx_hash}")
        self._update_button()

    def _on_withdraw_error(self, error: IdlegridError) -> None:
        self.status.setText(f"withdrawal failed: {error.message}" + (f" ({error.hint})" if error.hint else ""))
        self._update_button()
