"""The OFD and the PDF show the same page: pixels of our OFD rasteriser vs poppler's PDF."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageChops, ImageFilter

from .conftest import Issued, require_tool, run
from .ofd_raster import rasterise

DPI = 150


def ink(image: Image.Image) -> Image.Image:
    return image.convert("L").point(lambda v: 255 if v < 140 else 0)


def covered(mask: Image.Image, other: Image.Image) -> float:
    """Share of ``mask``'s ink that lies within one pixel of ``other``'s ink."""
    near = other.filter(ImageFilter.MaxFilter(3))
    both = ImageChops.multiply(mask, near)
    total = mask.histogram()[255]
    return both.histogram()[255] / max(1, total)


def pdf_pages(pdf: Path, folder: Path) -> list[Image.Image]:
    result = run(require_tool("pdftoppm"), "-r", DPI, "-png", pdf, folder / "p")
    assert result.returncode == 0, result.stderr
    return [Image.open(p) for p in sorted(folder.glob("p-*.png"))]


def test_ofd_and_pdf_pages_have_the_same_ink(each: Issued, tmp_path: Path) -> None:
    ofd_pages = rasterise(each.ofd_path.read_bytes(), DPI)
    pdf = pdf_pages(each.pdf_path, tmp_path)
    assert len(ofd_pages) == len(pdf) == len(each.rendered.layout.pages)
    for n, (a, b) in enumerate(zip(ofd_pages, pdf, strict=True)):
        b = b.resize(a.size) if b.size != a.size else b
        ofd_ink, pdf_ink = ink(a), ink(b)
        assert covered(ofd_ink, pdf_ink) > 0.96, n  # measured 0.977-0.991
        assert covered(pdf_ink, ofd_ink) > 0.96, n  # measured 0.985-0.998
        # The measure tells pages apart: the same page moved by 1 mm matches far less.
        shifted = ImageChops.offset(pdf_ink, round(DPI / 25.4), 0)
        assert covered(ofd_ink, shifted) < 0.85, n  # measured 0.70-0.76
