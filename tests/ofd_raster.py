"""A minimal OFD page rasteriser for tests: reads only the OFD file, draws with Pillow.

It covers what our writer emits (PathObject polylines and filled rectangles, ImageObject,
TextObject with TextCode X/Y/DeltaX and an embedded font, and the Appearance of page
annotations such as the 加注 band) so a test can compare the OFD's pixels with poppler's
rendering of the PDF, and a person can look at the OFD page.
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
    annotations = _annotations(parts, doc, doc_dir)
    pages = []
    for page_ref in doc.iterfind("ofd:Pages/ofd:Page", NS):
        page = etree.fromstring(parts[posixpath.join(doc_dir, page_ref.get("BaseLoc"))])
        box = _floats(page.findtext("ofd:Area/ofd:PhysicalBox", namespaces=NS)) or default
        image = Image.new("RGB", (round(box[2] * scale), round(box[3] * scale)), "white")
        draw = ImageDraw.Draw(image)
        for obj in page.iterfind("ofd:Content/ofd:Layer/*", NS):
            _draw(obj, draw, image, res, scale, (0.0, 0.0))
        for appearance in annotations.get(page_ref.get("ID", ""), []):
            ax, ay, _, _ = _floats(appearance.get("Boundary"))
            for obj in appearance:
                _draw(obj, draw, image, res, scale, (ax, ay))
        pages.append(image)
    return pages


def _draw(
    obj: etree._Element,
    draw: ImageDraw.ImageDraw,
    image: Image.Image,
    res: dict[str, bytes],
    scale: float,
    origin: tuple[float, float],
) -> None:
    bx, by, bw, bh = _floats(obj.get("Boundary"))
    bx, by = bx + origin[0], by + origin[1]
    tag = etree.QName(obj).localname
    if tag == "PathObject" and obj.get("Fill") == "true":
        _fill(obj, draw, scale, bx, by)
    elif tag == "PathObject":
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
        font = ImageFont.truetype(io.BytesIO(res[obj.get("Font")]), float(obj.get("Size")) * scale)
        color = _color(obj.find("ofd:FillColor", NS))
        for code in obj.iterfind("ofd:TextCode", NS):
            x, y = bx + float(code.get("X")), by + float(code.get("Y"))
            deltas = _floats(code.get("DeltaX"))
            for n, char in enumerate(code.text or ""):
                draw.text((x * scale, y * scale), char, font=font, fill=color, anchor="ls")
                x += deltas[n] if n < len(deltas) else 0.0


def _fill(
    obj: etree._Element, draw: ImageDraw.ImageDraw, scale: float, bx: float, by: float
) -> None:
    """A filled path of closed M/L subpaths (our vector QR modules)."""
    color = _color(obj.find("ofd:FillColor", NS))
    tokens = obj.findtext("ofd:AbbreviatedData", namespaces=NS).split()
    polygon: list[tuple[float, float]] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in ("M", "L"):
            polygon.append(
                ((bx + float(tokens[i + 1])) * scale, (by + float(tokens[i + 2])) * scale)
            )
            i += 3
        else:
            if len(polygon) > 2:
                draw.polygon(polygon, fill=color)
            polygon = []
            i += 1


def _annotations(
    parts: dict[str, bytes], doc: etree._Element, doc_dir: str
) -> dict[str, list[etree._Element]]:
    """Page ID → Appearance elements of the document's page annotations."""
    loc = doc.findtext("ofd:Annotations", namespaces=NS)
    index_path = posixpath.join(doc_dir, loc) if loc else None
    if index_path is None or index_path not in parts:
        return {}
    found: dict[str, list[etree._Element]] = {}
    for page in etree.fromstring(parts[index_path]).iterfind("ofd:Page", NS):
        path = posixpath.join(
            posixpath.dirname(index_path), page.findtext("ofd:FileLoc", namespaces=NS)
        )
        for appearance in etree.fromstring(parts[path]).iterfind("ofd:Annot/ofd:Appearance", NS):
            found.setdefault(page.get("PageID", ""), []).append(appearance)
    return found
