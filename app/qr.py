"""QR codes (segno) as Qt pixmaps: the wallet address a phone wallet can scan."""

from __future__ import annotations

import io

import segno
from PySide6.QtGui import QPixmap


def address_uri(address: str) -> str:
    """The EIP-681 URI of an address: phone wallets open it as "send to"."""
    return f"ethereum:{address}"


def qr_pixmap(text: str, *, scale: int = 6, border: int = 2) -> QPixmap:
    """``text`` as a black-on-white QR code (error correction M), ``scale`` pixels per module."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=border)
    pixmap = QPixmap()
    if not pixmap.loadFromData(buffer.getvalue(), "PNG"):
        raise RuntimeError("Qt could not decode the QR code PNG segno wrote")
    return pixmap


def qr_svg(text: str, *, scale: int = 6, border: int = 2) -> bytes:
    """``text`` as an SVG QR code (for saving or printing)."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="svg", scale=scale, border=border)
    return buffer.getvalue()
