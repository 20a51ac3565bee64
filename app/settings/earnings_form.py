"""The ``[earnings]`` form: electricity price, currency and an optional ETH price (app.profit).

Read back through :class:`app.profit.EarningsSettings`, so a bad value is a
:class:`SettingsInputError` naming the field, never a crash.
"""

from __future__ import annotations

from pydantic import ValidationError
from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QLabel, QLineEdit, QWidget

from app.profit import EarningsSettings
from app.settings.errors import from_validation

SECTION = "Earnings"
LABELS = {
    "electricity_price": "Electricity price (per kWh)",
    "currency": "Currency",
    "eth_price": "Price of 1 ETH (0: do not convert)",
}


class EarningsForm(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.electricity_price = QDoubleSpinBox(objectName="electricity_price", decimals=3, maximum=100.0,
                                                singleStep=0.01)
        self.currency = QLineEdit(objectName="currency", maxLength=8)
        self.eth_price = QDoubleSpinBox(objectName="eth_price", decimals=2, maximum=10_000_000.0, singleStep=10.0)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for name, widget in (("electricity_price", self.electricity_price), ("currency", self.currency),
                             ("eth_price", self.eth_price)):
            widget.setAccessibleName(LABELS[name])
            form.addRow(LABELS[name], widget)
        form.addRow(QLabel("idlegrid subtracts the electricity your GPU used (its measured power, or an estimate "
                           "on the CPU) from what you earned. With an ETH price it also shows amounts in your "
                           "currency.", wordWrap=True))
        self.load(EarningsSettings())

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
