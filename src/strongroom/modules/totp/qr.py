"""The QR code of an otpauth:// URL, as a PNG an authenticator app can scan (segno)."""

from __future__ import annotations

import io

import segno

BORDER = 4  # modules of quiet zone, as the QR standard asks


def png(url: str, size: int) -> bytes:
    """A PNG about `size` pixels wide (at least one pixel per module)."""
    code = segno.make(url, error="m", micro=False)
    width = code.symbol_size(scale=1, border=BORDER)[0]
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(1, size // width), border=BORDER)
    return buffer.getvalue()
