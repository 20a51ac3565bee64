"""Keystore values shared by the wallet and wizard tests (plain constants, not fixtures), the
one way tests answer the passphrase dialog, and the settings of a service that trains at once."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.passphrase import PassphraseDialog
from engine.chain.devnet import DEV_KEYS
from engine.config import save_section
from engine.gpu.settings import GpuSettings, PolicySettings
from engine.wallet import identity
from engine.wallet.keys import SecretKey
from engine.worker.config import WorkerSettings

CHEAP_SCRYPT_N = 2**4  # keystore files in tests: the real format, negligible KDF cost
PASSPHRASE = "correct horse battery staple"


def type_passphrase() -> None:
    """Answer the passphrase dialog with ``PASSPHRASE`` once it is up: on a busy machine it opens
    late, so look again every 100 ms instead of assuming when it appears."""
    dialog = QApplication.activeModalWidget()
    if isinstance(dialog, PassphraseDialog):
        dialog.first.setText(PASSPHRASE)
        dialog.accept()
    else:
        QTimer.singleShot(100, type_passphrase)


def work_always_on_the_cpu(wallet: Path) -> None:
    """Settings of a service that trains at once on the CPU (as ``--ignore-idle``), its wallet a
    keystore at ``wallet`` holding dev key 1 under ``PASSPHRASE``."""
    save_section("policy", PolicySettings(run_when="always", pause_on_foreign_process=False,
                                          foreign_utilization_pct=100, pause_on_battery=False,
                                          max_vram_share=1.0, resume_after_s=0))
    save_section("gpu", GpuSettings(allow_cpu=True))
    save_section("worker", WorkerSettings(device="cpu"))
    identity.keep_in_keystore(SecretKey.from_hex(DEV_KEYS[1]), wallet, PASSPHRASE, scrypt_n=CHEAP_SCRYPT_N)
