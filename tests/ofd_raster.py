"""A minimal OFD page rasteriser for tests: reads only the OFD file, draws with Pillow.

It covers what our writer emits (PathObject polylines, ImageObject, TextObject with
TextCode X/Y/DeltaX and an embedded font) so a test can compare the OFD's pixels with
poppler's rendering of the PDF, and a person can look at the OFD page.
"""

from __future__ import annotations

import io
import posixpath

from lxml import etree
from PIL import Image, ImageDraw, ImageFont

from docgen.ofd import OFD_NS, read_package

NS = {"ofd": OFD_NS}


def _floats(text: str | None) -> list[float]:
    return [float(v) for v in (text or "").split()]


def _color(element: etree._Element | None) -> tuple[int, int, int]:
    if element is None:
        return (0, 0, 0)
    r, g, b = (int(v) for v in element.get("Value", "0 0 0").split())
    return (r, g, b)


def _resources(parts: dict[str, bytes], doc_dir: str, locs: list[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for loc in locs:
        path = posixpath.join(doc_dir, loc)
        root = etree.fromstring(parts[path])
        base = posixpath.join(posixpath.dirname(path), root.get("BaseLoc", ""))
        for element in root.iter(f"{{{OFD_NS}}}Font", f"{{{OFD_NS}}}MultiMedia"):
            file = element.findtext("ofd:FontFile", namespaces=NS) or element.findtext(
                "ofd:MediaFile", namespaces=NS
            )
            if file:
                found[element.get("ID", "")] = parts[posixpath.join(base, file)]
    return found


def rasterise(data: bytes, dpi: int) -> list[Image.Image]:
    """Every page of an OFD file as an RGB image at ``dpi``."""
    parts = read_package(data)
    ofd_root = etree.fromstring(parts["OFD.xml"])
    doc_path = ofd_root.findtext("ofd:DocBody/ofd:DocRoot", namespaces=NS).lstrip("/")
    doc_dir = posixpath.dirname(doc_path)
    doc = etree.fromstring(parts[doc_path])
    common = doc.find("ofd:CommonData", NS)
    locs = [e.text for e in common if e.tag.endswith(("PublicRes", "DocumentRes"))]
    res = _resources(parts, doc_dir, locs)
    default = _floats(common.findtext("ofd:PageArea/ofd:PhysicalBox", namespaces=NS))
    scale = dpi / 25.4
    pages = []
    for page_ref in doc.iterfind("ofd:Pages/ofd:Page", NS):
        page = etree.fromstring(parts[posixpath.join(doc_dir, page_ref.get("BaseLoc"))])
        box = _floats(page.findtext("ofd:Area/ofd:PhysicalBox", namespaces=NS)) or default
        image = Image.new("RGB", (round(box[2] * scale), round(box[3] * scale)), "white")
        draw = ImageDraw.Draw(image)
        for obj in page.iterfind("ofd:Content/ofd:Layer/*", NS):
            bx, by, bw, bh = _floats(obj.get("Boundary"))
            tag = etree.QName(obj).localname
            if tag == "PathObject":
                width = max(1, round(float(obj.get("LineWidth", "0.353")) * scale))
                tokens = obj.findtext("ofd:AbbreviatedData", namespaces=NS).split()
                points: list[tuple[float, float]] = []
                closed = False
                i = 0
                while i < len(tokens):
                    if tokens[i] in ("M", "L"):
                        x, y = float(tokens[i + 1]), float(tokens[i + 2])
                        points.append(((bx + x) * scale, (by + y) * scale))
                        i += 3
                    else:
                        closed = tokens[i] == "C"
                        i += 1
                if closed:
                    points.append(points[0])
                draw.line(points, fill=_color(obj.find("ofd:StrokeColor", NS)), width=width)
            elif tag == "ImageObject":
                picture = Image.open(io.BytesIO(res[obj.get("ResourceID")])).convert("RGB")
                size = (round(bw * scale), round(bh * scale))
                image.paste(
                    picture.resize(size, Image.Resampling.LANCZOS),
                    (round(bx * scale), round(by * scale)),
                )
            elif tag == "TextObject":
                font = ImageFont.truetype(
                    io.BytesIO(res[obj.get("Font")]), float(obj.get("Size")) * scale
                )
                color = _color(obj.find("ofd:FillColor", NS))
                for code in obj.iterfind("ofd:TextCode", NS):
                    x, y = bx + float(code.get("X")), by + float(code.get("Y"))
                    deltas = _floats(code.get("DeltaX"))
                    for n, char in enumerate(code.text or ""):
                        draw.text((x * scale, y * scale), char, font=font, fill=color, anchor="ls")
                        x += deltas[n] if n < len(deltas) else 0.0
        pages.append(image)
    return pages
