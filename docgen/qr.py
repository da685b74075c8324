"""QR images printed on certificates.

Until certificates are signed (issue 3) the code holds only the GB/T 36904 identifier, never
personal data in clear.
"""

from __future__ import annotations

import io
from typing import Any, cast

import zxingcpp
from PIL import Image

__all__ = ["QR_PIXELS_PER_MODULE", "placeholder_qr_png", "qr_modules", "qr_png"]

#: Pixels per module in the embedded image; renderers scale it to the QR box.
QR_PIXELS_PER_MODULE = 8


def qr_png(text: str) -> bytes:
    """A black-on-white QR code (error correction Q, no quiet zone) as a 1-bit PNG.

    The quiet zone is left to the layout: the QR box in each template keeps a white margin.
    """
    modules = _image(text, "Q", 1).convert("1", dither=Image.Dither.NONE)
    side = modules.width * QR_PIXELS_PER_MODULE
    image = modules.resize((side, side), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)  # a few hundred bytes more, a third of the time
    return out.getvalue()


def placeholder_qr_png(identifier: str) -> bytes:
    """The unsigned QR of a certificate: its identifier behind the ``ECERT:`` prefix."""
    return qr_png(f"ECERT:{identifier}")


_LEVELS = frozenset("LMQH")


def _image(text: str, error_correction: str, scale: int) -> Image.Image:
    """The QR code of ``text`` made by zxing-cpp's encoder (C++: the smallest version that
    holds it, the mask chosen by the standard's penalty rules), as an 8-bit image."""
    barcode = zxingcpp.create_barcode(
        text, zxingcpp.BarcodeFormat.QRCode, ec_level=error_correction
    )
    image = barcode.to_image(scale=scale, add_quiet_zones=False)
    height, width = image.shape
    pixels = bytes(memoryview(cast(Any, image)))  # the stubs do not say it is a buffer
    return Image.frombytes("L", (width, height), pixels)


def qr_modules(text: str, error_correction: str = "Q") -> list[list[bool]]:
    """The module matrix of a QR code for ``text`` (True = dark), without quiet zone, for
    drawing it as vectors.

    Raises:
        ValueError: an unknown error correction level.
    """
    if error_correction not in _LEVELS:
        raise ValueError(f"unknown QR error correction {error_correction!r}")
    image = _image(text, error_correction, 1)
    width = image.width
    data = image.tobytes()
    return [[data[row + col] == 0 for col in range(width)] for row in range(0, len(data), width)]
