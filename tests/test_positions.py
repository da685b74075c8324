"""OFD and PDF put every field where the one layout model says."""

from __future__ import annotations

import re
from html import unescape

import pytest
from lxml import etree

from docgen.layout import ImageItem, TextItem
from docgen.ofd import OFD_NS, read_package

from .conftest import Issued, require_tool, run

MM = 72 / 25.4
NS = {"ofd": OFD_NS}
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split()]


def pdf_words(path) -> list[list[tuple[float, float, float, float, str]]]:  # type: ignore[no-untyped-def]
    """Words per page from ``pdftotext -bbox``, in millimetres from the top-left."""
    html = run(require_tool("pdftotext"), "-bbox", path, "-").stdout
    pages = []
    for page in html.split("<page ")[1:]:
        pages.append(
            [
                (float(a) / MM, float(b) / MM, float(c) / MM, float(d) / MM, unescape(t))
                for a, b, c, d, t in _WORD.findall(page)
            ]
        )
    return pages


def field_items(each: Issued) -> list[tuple[int, TextItem]]:
    fields = {f.name for f in each.rendered.certificate.kind.fields}
    return [
        (n, item)
        for n, page in enumerate(each.rendered.layout.pages)
        for item in page.items
        if isinstance(item, TextItem) and item.id in fields
    ]


def test_every_printed_field_is_checked(each: Issued) -> None:
    ids = {item.id for _, item in field_items(each)}
    assert {"name", "number"} <= ids


def test_ofd_text_objects_sit_at_the_layout_positions(each: Issued) -> None:
    parts = read_package(each.ofd_path.read_bytes())
    for n, page in enumerate(each.rendered.layout.pages):
        root = etree.fromstring(parts[f"Doc_0/Pages/Page_{n}/Content.xml"])
        objects = root.findall(".//ofd:TextObject", NS)
        texts = [item for item in page.items if isinstance(item, TextItem)]
        assert len(objects) == sum(len(item.runs) for item in texts)
        remaining = list(objects)
        for item in texts:
            for run_ in item.runs:
                obj = remaining.pop(0)
                assert obj.get("Name") == item.id
                x, y, w, h = _floats(obj.get("Boundary"))
                box = item.box
                assert [x, y, w, h] == pytest.approx([box.x, box.y, box.w, box.h], abs=1e-3)
                code = obj.find("ofd:TextCode", NS)
                assert code.text == run_.text
                assert x + float(code.get("X")) == pytest.approx(run_.x, abs=1e-3)
                assert y + float(code.get("Y")) == pytest.approx(run_.baseline, abs=1e-3)
                deltas = _floats(code.get("DeltaX", ""))
                assert deltas == pytest.approx(list(run_.advances[:-1]), abs=1e-3)
                assert float(obj.get("Size")) == pytest.approx(run_.size, abs=1e-3)


def test_ofd_images_sit_at_the_layout_positions(each: Issued) -> None:
    parts = read_package(each.ofd_path.read_bytes())
    for n, page in enumerate(each.rendered.layout.pages):
        root = etree.fromstring(parts[f"Doc_0/Pages/Page_{n}/Content.xml"])
        objects = root.findall(".//ofd:ImageObject", NS)
        images = [item for item in page.items if isinstance(item, ImageItem)]
        assert [o.get("Name") for o in objects] == [i.id for i in images]
        for obj, item in zip(objects, images, strict=True):
            assert _floats(obj.get("Boundary")) == pytest.approx(
                [item.box.x, item.box.y, item.box.w, item.box.h], abs=1e-3
            )
            assert _floats(obj.get("CTM")) == pytest.approx(
                [item.box.w, 0, 0, item.box.h, 0, 0], abs=1e-3
            )


def test_pdf_fields_sit_at_the_layout_positions(each: Issued) -> None:
    """Each field's first word starts where the layout put the first glyph, inside the box."""
    words = pdf_words(each.pdf_path)
    for n, item in field_items(each):
        first = item.text.split()[0]
        candidates = [w for w in words[n] if w[4] == first]
        assert candidates, (item.id, first)
        start = item.runs[0].x
        matches = [w for w in candidates if abs(w[0] - start) < 0.1]
        assert matches, (item.id, first, start, candidates)
        x0, y0, x1, y1, _ = matches[0]
        box = item.box
        assert box.x - 0.1 <= x0 and x1 <= box.x + box.w + 0.1, (item.id, box, matches[0])
        assert box.y - 0.5 <= y0 and y1 <= box.y + box.h + 0.5, (item.id, box, matches[0])
