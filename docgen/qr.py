"""QR images printed on certificates.

Until certificates are signed (issue 3) the code holds only the GB/T 36904 identifier, never
personal data in clear.
"""

from __future__ import annotations

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_Q

__all__ = ["QR_PIXELS_PER_MODULE", "placeholder_qr_png", "qr_png"]

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
