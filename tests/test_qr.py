"""The (placeholder) QR printed on each certificate decodes from the rendered page."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from pyzbar import pyzbar

from .conftest import Issued, require_tool, run


def test_qr_on_the_rendered_page_holds_the_identifier(each: Issued, tmp_path: Path) -> None:
    result = run(require_tool("pdftoppm"), "-r", "150", "-png", each.pdf_path, tmp_path / "p")
    assert result.returncode == 0
    texts = set()
    for page in sorted(tmp_path.glob("p-*.png")):
        texts |= {s.data.decode() for s in pyzbar.decode(Image.open(page).convert("L"))}
    assert texts == {f"ECERT:{each.rendered.certificate.identifier}"}
