"""The ``[earnings]`` form: electricity price, currency and an optional ETH price (app.profit).

Read back through :class:`app.profit.EarningsSettings`, so a bad value is a
:class:`SettingsInputError` naming the field, never a crash.
"""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QLineEdit, QWidget

from app.profit import EarningsSettings
from app.settings.errors import from_validation

SECTION = "Earnings"
LABELS = {
    "electricity_price": "Electricity price (per kWh)",
    "currency": "Currency",
    "eth_price": "Price of 1 ETH (0: do not convert)",
}


class EarningsForm(QObject):
    """The fields; their rows go into another form (:meth:`rows`), lined up with the policy's."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.electricity_price = QDoubleSpinBox(objectName="electricity_price", decimals=3, maximum=100.0,
                                                singleStep=0.01)
        self.currency = QLineEdit(objectName="currency", maxLength=8)
        self.eth_price = QDoubleSpinBox(objectName="eth_price", decimals=2, maximum=10_000_000.0, singleStep=10.0)
        self.note = QLabel("idlegrid subtracts the electricity your GPU used (its measured power, or an estimate "
                           "on the CPU) from what you earned. With an ETH price it also shows amounts in your "
                           "currency.", wordWrap=True)
        for name in LABELS:
            getattr(self, name).setAccessibleName(LABELS[name])
        self.load(EarningsSettings())

    def rows(self) -> list[tuple[str | None, QWidget]]:
        """(label, field) rows for a QFormLayout; None: a row of its own (the note)."""
        return [*((LABELS[name], getattr(self, name)) for name in LABELS), (None, self.note)]

    def load(self, settings: EarningsSettings) -> None:
        self.electricity_price.setValue(settings.electricity_price)
        self.currency.setText(settings.currency)
        self.eth_price.setValue(settings.eth_price)

    def settings(self) -> EarningsSettings:
        try:
            return EarningsSettings.model_validate({"electricity_price": self.electricity_price.value(),
                                                    "currency": self.currency.text().strip(),
                                                    "eth_price": self.eth_price.value()})
        except ValidationError as e:
            raise from_validation(SECTION, LABELS, e) from None
