"""What a person sees: the PDF rendered to PNG shows name, number and photo in their boxes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from docgen.layout import Box, ImageItem, TextItem

from .conftest import Issued, require_tool, run

DPI = 100


def render_pages(pdf: Path, folder: Path) -> list[Image.Image]:
    result = run(require_tool("pdftoppm"), "-r", DPI, "-png", pdf, folder / "page")
    assert result.returncode == 0, result.stderr
    return [Image.open(p).convert("L") for p in sorted(folder.glob("page-*.png"))]


def crop(image: Image.Image, box: Box) -> Image.Image:
    scale = DPI / 25.4
    return image.crop(
        (
            round(box.x * scale),
            round(box.y * scale),
            round((box.x + box.w) * scale),
            round((box.y + box.h) * scale),
        )
    )


def dark_fraction(image: Image.Image, threshold: int = 160) -> float:
    data = image.tobytes()
    return sum(1 for v in data if v < threshold) / max(1, len(data))


def test_name_number_and_photo_are_visible_in_their_boxes(each: Issued, tmp_path: Path) -> None:
    layout = each.rendered.layout
    pages = render_pages(each.pdf_path, tmp_path)
    assert len(pages) == len(layout.pages)
    seen = set()
    for image, page in zip(pages, layout.pages, strict=True):
        expected = (page.width * DPI / 25.4, page.height * DPI / 25.4)
        assert image.size == pytest.approx(expected, abs=1.0)
        for item in page.items:
            if isinstance(item, TextItem) and item.id in ("name", "number"):
                first, last = item.runs[0], item.runs[-1]
                drawn = Box(first.x, item.box.y, last.x + last.width - first.x, item.box.h)
                assert item.box.contains(drawn)
                ink = dark_fraction(crop(image, drawn))
                assert ink > 0.05, (page.id, item.id, ink)  # measured 0.104-0.201
                seen.add(item.id)
            elif isinstance(item, ImageItem) and item.id == "photo":
                # measured 0.996: the photo fills its box
                assert dark_fraction(crop(image, item.box), threshold=235) > 0.9
                seen.add("photo")
    assert seen == {"name", "number", "photo"}


@pytest.mark.parametrize("kind", ["skill"])
def test_a_box_with_nothing_in_it_stays_blank(
    issued: dict[str, Issued], kind: str, tmp_path: Path
) -> None:
    """The measure above can tell ink from paper: the seal slot is still empty."""
    layout = issued[kind].rendered.layout
    image = render_pages(issued[kind].pdf_path, tmp_path)[0]
    seal = next(i for i in layout.pages[0].items if i.id == "seal")
    inner = Box(seal.box.x + 2, seal.box.y + 2, seal.box.w - 4, seal.box.h - 12)
    assert dark_fraction(crop(image, inner)) == 0.0
