"""Write a :class:`~docgen.layout.DocumentLayout` as an OFD package (GB/T 33190-2016).

Element and attribute names follow the standard; every part validates against the OFD XSD.
Each text run becomes a ``TextObject`` whose ``Boundary`` is the layout box of its item
(``Name`` = the item id, e.g. the field name) and whose ``TextCode`` gives the first glyph's
origin and the layout's advances as ``DeltaX`` — the same positions the PDF uses.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from functools import lru_cache

from lxml import etree

from .. import __version__
from ..fonts import Face
from ..layout import (
    AnnotationSlot,
    Box,
    DocumentLayout,
    ImageItem,
    Item,
    PageLayout,
    PathItem,
    RectsItem,
    TextItem,
)
from .package import DOC_ROOT, ROOT_FILE, ofd, serialize, write_package

__all__ = ["ANNOTATIONS_LOC", "ANNOTATION_IDS", "DOC_ROOT", "Drawer", "build_parts", "write_ofd"]

#: Where Document.xml points for annotations (relative to Doc_0/), from the first seal on.
ANNOTATIONS_LOC = "Annots/Annotations.xml"
#: Object IDs kept free (below MaxUnitID) for an annotated copy's 加注 band: Document.xml is
#: sealed before the band exists, and MaxUnitID must stay the largest ID.
ANNOTATION_IDS = 64
_RES_DIR = "Res"
_DOCID_NAMESPACE = uuid.UUID("6f1b7c2e-7d0e-4c58-9a55-1d2b3c4d5e6f")


@lru_cache(maxsize=4096)
def _num(value: float) -> str:
    """A coordinate or advance in millimetres, at most 3 decimals (glyph advances repeat:
    each distinct value is formatted once)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _nums(values: Iterable[float]) -> str:
    return " ".join(_num(v) for v in values)


def _box(box: Box) -> str:
    return _nums((box.x, box.y, box.w, box.h))


def _color(rgb: tuple[int, int, int]) -> dict[str, str]:
    return {"Value": " ".join(str(c) for c in rgb)}


class _Ids:
    def __init__(self, last: int = 0, limit: int | None = None) -> None:
        self.last = last
        self.limit = limit

    def next(self) -> str:
        self.last += 1
        if self.limit is not None and self.last > self.limit:
            raise ValueError(f"more than the {self.limit} object IDs reserved")
        return str(self.last)


class Drawer:
    """Writes layout items as OFD page objects (Content.xml layers, annotation appearances).

    ``font_ids`` maps a face key to its Font ID, ``image_ids`` an image's SHA-256 to its
    MultiMedia ID; object IDs are taken after ``last_id`` (and never beyond ``limit``).
    """

    def __init__(
        self,
        font_ids: dict[str, str],
        image_ids: dict[str, str],
        last_id: int = 0,
        limit: int | None = None,
    ) -> None:
        self.font_ids = font_ids
        self.image_ids = image_ids
        self.ids = _Ids(last_id, limit)

    def draw(self, parent: etree._Element, items: Iterable[Item]) -> None:
        """Append the objects of ``items`` to ``parent`` (a Layer or an Appearance)."""
        for item in items:
            if isinstance(item, PathItem):
                self.path(parent, item)
            elif isinstance(item, RectsItem):
                self.rects(parent, item)
            elif isinstance(item, ImageItem):
                digest = hashlib.sha256(item.data).hexdigest()
                ofd(
                    "ImageObject",
                    {
                        "ID": self.ids.next(),
                        "Name": item.id,
                        "Boundary": _box(item.box),
                        "CTM": _nums((item.box.w, 0, 0, item.box.h, 0, 0)),
                        "ResourceID": self.image_ids[digest],
                    },
                    parent=parent,
                )
            elif isinstance(item, TextItem):
                self.text(parent, item)

    def path(self, layer: etree._Element, item: PathItem) -> None:
        box = item.box
        element = ofd(
            "PathObject",
            {
                "ID": self.ids.next(),
                "Name": item.id,
                "Boundary": _box(box),
                "LineWidth": _num(item.stroke),
            },
            parent=layer,
        )
        ofd("StrokeColor", _color(item.color), parent=element)
        (x0, y0), *rest = item.points
        data = [f"M {_nums((x0 - box.x, y0 - box.y))}"]
        data += [f"L {_nums((x - box.x, y - box.y))}" for x, y in rest]
        if item.closed:
            data.append("C")
        ofd("AbbreviatedData", text=" ".join(data), parent=element)

    def rects(self, layer: etree._Element, item: RectsItem) -> None:
        box = item.box
        element = ofd(
            "PathObject",
            {
                "ID": self.ids.next(),
                "Name": item.id,
                "Boundary": _box(box),
                "Stroke": "false",
                "Fill": "true",
            },
            parent=layer,
        )
        ofd("FillColor", _color(item.color), parent=element)
        data = []
        for x, y, w, h in item.rects:
            x, y = x - box.x, y - box.y
            data.append(
                f"M {_nums((x, y))} L {_nums((x + w, y))} L {_nums((x + w, y + h))} "
                f"L {_nums((x, y + h))} C"
            )
        ofd("AbbreviatedData", text=" ".join(data), parent=element)

    def text(self, layer: etree._Element, item: TextItem) -> None:
        for run in item.runs:
            element = ofd(
                "TextObject",
                {
                    "ID": self.ids.next(),
                    "Name": item.id,
                    "Boundary": _box(item.box),
                    "Font": self.font_ids[run.face.key],
                    "Size": _num(run.size),
                },
                parent=layer,
            )
            ofd("FillColor", _color(item.color), parent=element)
            attrib = {"X": _num(run.x - item.box.x), "Y": _num(run.baseline - item.box.y)}
            if len(run.text) > 1:
                attrib["DeltaX"] = _nums(run.advances[:-1])
            ofd("TextCode", attrib, text=run.text, parent=element)


class _Writer:
    def __init__(self, layout: DocumentLayout, signatures: str | None) -> None:
        self.layout = layout
        self.signatures = signatures
        self.ids = _Ids()
        self.parts: dict[str, bytes] = {}
        self.font_ids: dict[str, str] = {}
        self.image_ids: dict[str, str] = {}
        self.resources: dict[str, bytes] = {}

    def fonts(self) -> etree._Element:
        res = ofd("Res", {"BaseLoc": _RES_DIR})
        fonts = ofd("Fonts", parent=res)
        for key, (face, chars) in sorted(self.layout.faces().items()):
            font_id = self.ids.next()
            self.font_ids[key] = font_id
            file = f"font_{font_id}.ttf"
            self.resources[file] = face.subset(chars).data
            element = ofd(
                "Font",
                {"ID": font_id, "FontName": face.family, "FamilyName": face.family, **_serif(face)},
                parent=fonts,
            )
            ofd("FontFile", text=file, parent=element)
        return res

    def images(self) -> etree._Element:
        res = ofd("Res", {"BaseLoc": _RES_DIR})
        media = None
        for page in self.layout.pages:
            for item in page.items:
                if not isinstance(item, ImageItem):
                    continue
                digest = hashlib.sha256(item.data).hexdigest()
                if digest in self.image_ids:
                    continue
                media = media if media is not None else ofd("MultiMedias", parent=res)
                image_id = self.ids.next()
                self.image_ids[digest] = image_id
                ext = "jpg" if item.format == "JPEG" else "png"
                file = f"image_{image_id}.{ext}"
                self.resources[file] = item.data
                element = ofd(
                    "MultiMedia",
                    {"ID": image_id, "Type": "Image", "Format": item.format},
                    parent=media,
                )
                ofd("MediaFile", text=file, parent=element)
        return res

    def page(self, page: PageLayout) -> etree._Element:
        root = ofd("Page")
        area = ofd("Area", parent=root)
        ofd("PhysicalBox", text=_nums((0, 0, page.width, page.height)), parent=area)
        content = ofd("Content", parent=root)
        layer = ofd("Layer", {"ID": self.ids.next(), "Type": "Body"}, parent=content)
        drawer = Drawer(self.font_ids, self.image_ids, self.ids.last)
        drawer.draw(layer, page.items)
        self.ids.last = drawer.ids.last
        return root

    def build(self) -> dict[str, bytes]:
        public_res = self.fonts()
        document_res = self.images()
        pages: list[tuple[str, str]] = []
        page_parts: dict[str, bytes] = {}
        for n, page in enumerate(self.layout.pages):
            page_id = self.ids.next()
            loc = f"Pages/Page_{n}/Content.xml"
            pages.append((page_id, loc))
            page_parts[f"Doc_0/{loc}"] = serialize(self.page(page))
        self.parts[ROOT_FILE] = serialize(self.ofd_root())
        self.parts[DOC_ROOT] = serialize(self.document(pages))
        self.parts["Doc_0/PublicRes.xml"] = serialize(public_res)
        self.parts["Doc_0/DocumentRes.xml"] = serialize(document_res)
        self.parts.update(page_parts)
        for file, data in self.resources.items():
            self.parts[f"Doc_0/{_RES_DIR}/{file}"] = data
        return self.parts

    def document(self, pages: list[tuple[str, str]]) -> etree._Element:
        first = self.layout.pages[0]
        root = ofd("Document")
        common = ofd("CommonData", parent=root)
        annotated = any(
            isinstance(item, AnnotationSlot) for page in self.layout.pages for item in page.items
        )
        reserved = ANNOTATION_IDS if annotated else 0
        ofd("MaxUnitID", text=str(self.ids.last + reserved), parent=common)
        area = ofd("PageArea", parent=common)
        ofd("PhysicalBox", text=_nums((0, 0, first.width, first.height)), parent=area)
        ofd("PublicRes", text="PublicRes.xml", parent=common)
        ofd("DocumentRes", text="DocumentRes.xml", parent=common)
        pages_el = ofd("Pages", parent=root)
        for page_id, loc in pages:
            ofd("Page", {"ID": page_id, "BaseLoc": loc}, parent=pages_el)
        if annotated:  # the file comes with an annotated copy, covered by its own signature
            ofd("Annotations", text=ANNOTATIONS_LOC, parent=root)
        return root

    def ofd_root(self) -> etree._Element:
        cert = self.layout.certificate
        meta = {name: value for _, name, value in self.layout.metadata}
        root = ofd("OFD", {"Version": "1.0", "DocType": "OFD"})
        body = ofd("DocBody", parent=root)
        info = ofd("DocInfo", parent=body)
        doc_id = uuid.uuid5(_DOCID_NAMESPACE, f"{cert.identifier}|{cert.issued_at.isoformat()}")
        ofd("DocID", text=doc_id.hex, parent=info)
        ofd("Title", text=self.layout.title, parent=info)
        ofd("Author", text=meta["颁发机构"], parent=info)
        ofd("Subject", text=cert.identifier, parent=info)
        ofd("CreationDate", text=cert.issued_at.date().isoformat(), parent=info)
        keywords = ofd("Keywords", parent=info)
        for word in (cert.kind.type_name, cert.number):
            ofd("Keyword", text=word, parent=keywords)
        ofd("Creator", text="docgen", parent=info)
        ofd("CreatorVersion", text=__version__, parent=info)
        custom = ofd("CustomDatas", parent=info)
        for _, name, value in self.layout.metadata:
            ofd("CustomData", {"Name": name}, text=value, parent=custom)
        ofd("DocRoot", text=DOC_ROOT, parent=body)
        if self.signatures is not None:
            ofd("Signatures", text=self.signatures, parent=body)
        return root


def _serif(face: Face) -> dict[str, str]:
    return {"Serif": "true"} if face.serif else {}


def build_parts(layout: DocumentLayout, signatures: str | None = None) -> dict[str, bytes]:
    """The package parts of ``layout``, path → bytes, in the order they are zipped.

    ``signatures`` is the absolute path of the Signatures.xml a signer will add; OFD.xml
    must point at it before anything is digested.
    """
    return _Writer(layout, signatures).build()


def write_ofd(layout: DocumentLayout) -> bytes:
    """The OFD file of ``layout``; the same layout always gives the same bytes."""
    return write_package(build_parts(layout), layout.certificate.issued_at)
