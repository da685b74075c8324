"""QR images printed on certificates.

Until certificates are signed (issue 3) the code holds only the GB/T 36904 identifier, never
personal data in clear.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, cast

import zxingcpp
from PIL import Image

__all__ = ["QR_PIXELS_PER_MODULE", "placeholder_qr_png", "qr_modules", "qr_png"]

#: Pixels per module in the embedded image; renderers scale it to the QR box. Eight, so
#: that a module is one byte of a 1-bit row (see :func:`qr_png`).
QR_PIXELS_PER_MODULE = 8
_PNG = b"\x89PNG\r\n\x1a\n"
# zxing-cpp's 8-bit module (0 dark, 255 light) → the byte of eight 1-bit pixels it becomes
_MODULE_BYTE = bytes(0x00 if value < 128 else 0xFF for value in range(256))
_NONE, _UP = b"\x00", b"\x02"  # PNG row filters (ISO/IEC 15948 §9.2): as is; minus the row above


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def qr_png(text: str) -> bytes:
    """A black-on-white QR code (error correction Q, no quiet zone) as a 1-bit PNG of
    :data:`QR_PIXELS_PER_MODULE` pixels a module.

    Written as the PNG format has it rather than by Pillow: each module is one byte of its
    1-bit rows, each row of modules is written once and the seven pixel rows under it as
    "Up" rows (all zero bytes, which deflate packs to almost nothing). 0.1 ms against 0.6
    for Pillow's resize and encoder, which filters and deflates all 26 kB of pixels; the
    pixels are the same (tested).

    The quiet zone is left to the layout: the QR box in each template keeps a white margin.
    """
    modules = _image(text, "Q", 1)
    width, height = modules.size
    data = modules.tobytes().translate(_MODULE_BYTE)
    under = (_UP + bytes(width)) * (QR_PIXELS_PER_MODULE - 1)
    rows = b"".join(_NONE + data[at : at + width] + under for at in range(0, len(data), width))
    side = struct.pack(">II", width * QR_PIXELS_PER_MODULE, height * QR_PIXELS_PER_MODULE)
    header = side + bytes([1, 0, 0, 0, 0])  # 1 bit, grey, deflate, adaptive filters, no interlace
    return (
        _PNG
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 1))
        + _chunk(b"IEND", b"")
    )


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
