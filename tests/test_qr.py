"""The (placeholder) QR printed on each certificate decodes from the rendered page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageOps
from pyzbar import pyzbar

from docgen.qr import QR_PIXELS_PER_MODULE, qr_modules, qr_png

from .conftest import Issued, require_tool, run


def test_qr_on_the_rendered_page_holds_the_identifier(each: Issued, tmp_path: Path) -> None:
    result = run(require_tool("pdftoppm"), "-r", "150", "-png", each.pdf_path, tmp_path / "p")
    assert result.returncode == 0
    texts = set()
    for page in sorted(tmp_path.glob("p-*.png")):
        texts |= {s.data.decode() for s in pyzbar.decode(Image.open(page).convert("L"))}
    assert texts == {f"ECERT:{each.rendered.certificate.identifier}"}


@pytest.mark.parametrize("text", ["ECERT:1", "EC1:" + "A1B2 C3$%*+-./:" * 40])
def test_the_qr_picture_is_its_modules_at_eight_pixels_each(text: str) -> None:
    """qr_png writes the PNG itself: Pillow must read it as the modules, each scaled up to
    QR_PIXELS_PER_MODULE pixels square, and both decoders read the text back."""
    modules = qr_modules(text, "Q")
    side = len(modules)
    plain = Image.frombytes("L", (side, side), bytes(0 if m else 255 for r in modules for m in r))
    scale = QR_PIXELS_PER_MODULE
    expected = plain.resize((side * scale, side * scale), Image.Resampling.NEAREST)
    picture = Image.open(io.BytesIO(qr_png(text)))
    picture.load()  # Pillow checks every chunk's CRC and the zlib stream as it reads
    assert (picture.format, picture.mode, picture.size) == ("PNG", "1", expected.size)
    assert ImageChops.difference(picture.convert("L"), expected).getbbox() is None
    framed = ImageOps.expand(picture.convert("L"), border=4 * scale, fill=255)
    assert [s.data.decode() for s in pyzbar.decode(framed)] == [text]
    assert [r.text for r in zxingcpp.read_barcodes(framed)] == [text]
