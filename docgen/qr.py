"""QR images printed on certificates.

Until certificates are signed (issue 3) the code holds only the GB/T 36904 identifier, never
personal data in clear.
"""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q

__all__ = ["QR_PIXELS_PER_MODULE", "placeholder_qr_png", "qr_modules", "qr_png"]

#: Pixels per module in the embedded image; renderers scale it to the QR box.
QR_PIXELS_PER_MODULE = 8


def qr_png(text: str) -> bytes:
    """A black-on-white QR code (error correction Q, no quiet zone) as a 1-bit PNG.

    The quiet zone is left to the layout: the QR box in each template keeps a white margin.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=QR_PIXELS_PER_MODULE, border=0)
    code.add_data(text)
    code.make(fit=True)
    image = code.make_image().get_image().convert("1")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


def placeholder_qr_png(identifier: str) -> bytes:
    """The unsigned QR of a certificate: its identifier behind the ``ECERT:`` prefix."""
    return qr_png(f"ECERT:{identifier}")


_LEVELS = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}


def qr_modules(text: str, error_correction: str = "Q") -> list[list[bool]]:
    """The module matrix of a QR code for ``text`` (True = dark), without quiet zone, for
    drawing it as vectors.

    Raises:
        ValueError: an unknown error correction level.
    """
    if error_correction not in _LEVELS:
        raise ValueError(f"unknown QR error correction {error_correction!r}")
    code = qrcode.QRCode(error_correction=_LEVELS[error_correction], border=0)
    code.add_data(text)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]
