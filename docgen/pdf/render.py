"""Render a :class:`~docgen.layout.DocumentLayout` to PDF.

The layout already fixed every glyph position; this module only converts millimetres
(top-left origin) to points (bottom-left origin) and writes the objects, in one pass, with
no second parse: fonts as the subsets the OFD embeds, the seal picture prepared once per
process. Output is byte-identical for the same layout (dates are the issue time, the file
identifier is derived from the certificate).

For a sealed certificate, :func:`render_for_signing` writes the signature field too — its
widget on the first seal slot with the seal picture as appearance, its signature dictionary
with a ``/ByteRange`` and a ``/Contents`` reserved in place — so signing fills in bytes and
never rewrites the file (see :mod:`docgen.pdf.signature`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from xml.sax.saxutils import escape

from .. import __version__
from ..layout import (
    Box,
    DocumentLayout,
    GlyphRun,
    ImageItem,
    PageLayout,
    PathItem,
    RectsItem,
    SlotItem,
    TextItem,
    seal_slots,
)
from ..metadata import METADATA_PREFIX
from .objects import Name, Placeholder, Ref, Stream, Text, Writer, WrittenFile, deflate
from .resources import EmbeddedFont, embed_font, embed_image, prepare_image
from .signature import BYTE_RANGE, CONTENTS, SignatureField

__all__ = ["PRODUCER", "pdf_date", "render_for_signing", "render_pdf"]

PRODUCER = f"docgen {__version__}"
_XMP_NS = "http://ecert.example/ns/gbt36903/1.0/"
_MM = 72 / 25.4
# Widget annotation flags: Print (4) and Locked (128).
_WIDGET_FLAGS = 132
# AcroForm SigFlags: SignaturesExist (1) and AppendOnly (2).
_SIG_FLAGS = 3


def pdf_date(at: datetime) -> str:
    """``at`` as a PDF date string (§7.9.4)."""
    offset = at.strftime("%z")
    return f"D:{at.strftime('%Y%m%d%H%M%S')}{offset[:3]}'{offset[3:]}'"


def _f(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _xmp(layout: DocumentLayout, at: datetime) -> bytes:
    cert = layout.certificate
    stamp = at.isoformat()
    props = "".join(
        f"<ecert:{key}>{escape(value)}</ecert:{key}>" for key, _, value in layout.metadata
    )
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about=""'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"'
        ' xmlns:pdf="http://ns.adobe.com/pdf/1.3/"'
        f' xmlns:ecert="{_XMP_NS}">'
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(layout.title)}</rdf:li>'
        "</rdf:Alt></dc:title>"
        f"<dc:creator><rdf:Seq><rdf:li>{escape(_issuer(layout))}</rdf:li></rdf:Seq></dc:creator>"
        f"<dc:identifier>{escape(cert.identifier)}</dc:identifier>"
        "<dc:format>application/pdf</dc:format>"
        f"<xmp:CreateDate>{stamp}</xmp:CreateDate><xmp:ModifyDate>{stamp}</xmp:ModifyDate>"
        f"<xmp:MetadataDate>{stamp}</xmp:MetadataDate>"
        f"<xmp:CreatorTool>docgen {__version__}</xmp:CreatorTool>"
        f"<pdf:Producer>{escape(PRODUCER)}</pdf:Producer>"
        f"{props}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def _issuer(layout: DocumentLayout) -> str:
    return dict((name, value) for _, name, value in layout.metadata)["颁发机构"]


def _rgb(color: tuple[int, int, int], op: str) -> str:
    return f"{_f(color[0] / 255)} {_f(color[1] / 255)} {_f(color[2] / 255)} {op}"


class _Document:
    """One document being written: its objects, fonts and images."""

    def __init__(self, layout: DocumentLayout) -> None:
        self.layout = layout
        self.writer = Writer()
        self.fonts: dict[str, tuple[str, EmbeddedFont]] = {}
        for n, (key, (face, chars)) in enumerate(sorted(layout.faces().items()), start=1):
            self.fonts[key] = (f"F{n}", embed_font(self.writer, face, chars))
        self.images: dict[bytes, tuple[str, Ref]] = {}

    def image(self, data: bytes, kind: str) -> tuple[str, Ref]:
        """The resource name and object of a picture, written once per document."""
        known = self.images.get(data)
        if known is None:
            ref = embed_image(self.writer, prepare_image(data, kind))
            known = (f"Im{len(self.images) + 1}", ref)
            self.images[data] = known
        return known

    def run(self, out: list[str], page: PageLayout, run: GlyphRun) -> None:
        name, font = self.fonts[run.face.key]
        natural = [run.face.advance(c) * run.size for c in run.text]
        extras = [a - n for a, n in zip(run.advances, natural, strict=True)]
        y = _f((page.height - run.baseline) * _MM)
        out.append(f"BT /{name} {_f(run.size * _MM)} Tf")
        uniform = all(abs(e - extras[0]) < 1e-6 for e in extras[:-1])
        if uniform:
            spacing = extras[0] * _MM if len(run.text) > 1 else 0.0
            out.append(f"{_f(spacing)} Tc 1 0 0 1 {_f(run.x * _MM)} {y} Tm")
            out.append(f"<{font.encode(run.text).decode()}> Tj")
        else:  # glyph by glyph: positions are what the layout says, whatever the spacing
            out.append("0 Tc")
            x = run.x
            for char, advance in zip(run.text, run.advances, strict=True):
                out.append(f"1 0 0 1 {_f(x * _MM)} {y} Tm <{font.encode(char).decode()}> Tj")
                x += advance
        out.append("ET")

    def picture(self, out: list[str], page: PageLayout, box: Box, name: str) -> None:
        x, y, w, h = box.x, box.y, box.w, box.h
        out.append(
            f"q {_f(w * _MM)} 0 0 {_f(h * _MM)} {_f(x * _MM)} "
            f"{_f((page.height - y - h) * _MM)} cm /{name} Do Q"
        )

    def content(self, page: PageLayout, seal: bytes | None, stamped: set[int]) -> bytes:
        out: list[str] = []
        for index, item in enumerate(page.items):
            if isinstance(item, SlotItem) and index in stamped and seal:
                self.picture(out, page, item.box, self.image(seal, "PNG")[0])
            elif isinstance(item, PathItem):
                out.append(f"{_rgb(item.color, 'RG')} {_f(item.stroke * _MM)} w")
                (x0, y0), *rest = item.points
                path = [f"{_f(x0 * _MM)} {_f((page.height - y0) * _MM)} m"]
                path += [f"{_f(x * _MM)} {_f((page.height - y) * _MM)} l" for x, y in rest]
                out.append(" ".join(path) + (" h S" if item.closed else " S"))
            elif isinstance(item, RectsItem):
                out.append(_rgb(item.color, "rg"))
                out += [
                    f"{_f(x * _MM)} {_f((page.height - y - h) * _MM)} {_f(w * _MM)} "
                    f"{_f(h * _MM)} re"
                    for x, y, w, h in item.rects
                ]
                out.append("f")
            elif isinstance(item, ImageItem):
                self.picture(out, page, item.box, self.image(item.data, item.format)[0])
            elif isinstance(item, TextItem):
                out.append(_rgb(item.color, "rg"))
                for run in item.runs:
                    self.run(out, page, run)
        return "\n".join(out).encode("ascii")

    def resources(self) -> dict[str, object]:
        entries: dict[str, object] = {
            "Font": {name: font.ref for name, font in self.fonts.values()}
        }
        if self.images:
            entries["XObject"] = {name: ref for name, ref in self.images.values()}
        return entries

    def signature(self, field: SignatureField, page: Ref, rect: list[float]) -> Ref:
        """The signature field (its widget on ``page``) with its reserved signature."""
        writer = self.writer
        value = writer.add(
            {
                "Type": Name("Sig"),
                "Filter": Name("Adobe.PPKLite"),
                "SubFilter": Name("ETSI.CAdES.detached"),
                "ByteRange": Placeholder(BYTE_RANGE, field.byte_range_placeholder()),
                "Contents": Placeholder(CONTENTS, field.contents_placeholder()),
                "M": Text(pdf_date(field.signed_at)),
                "Name": Text(field.signer_name),
                "Reason": Text(field.reason),
            }
        )
        _, seal = self.image(field.picture, "PNG")  # shared with the other seal slots
        width, height = rect[2] - rect[0], rect[3] - rect[1]
        appearance = writer.add(
            Stream(
                {
                    "Type": Name("XObject"),
                    "Subtype": Name("Form"),
                    "BBox": [0, 0, width, height],
                    "Resources": {"XObject": {"Seal": seal}},
                },
                f"q {_f(width)} 0 0 {_f(height)} 0 0 cm /Seal Do Q".encode("ascii"),
            )
        )
        return writer.add(
            {
                "Type": Name("Annot"),
                "Subtype": Name("Widget"),
                "FT": Name("Sig"),
                "T": Text(field.name),
                "V": value,
                "F": _WIDGET_FLAGS,
                "Rect": rect,
                "P": page,
                "AP": {"N": appearance},
            }
        )

    def write(self, field: SignatureField | None) -> WrittenFile:
        layout, writer = self.layout, self.writer
        cert = layout.certificate
        at = cert.issued_at
        slots = seal_slots(layout)
        signed_slot = slots[0] if field is not None and slots else None
        if field is not None and signed_slot is None:
            raise ValueError(f"kind {cert.kind.name} has no seal slot")
        seal = field.picture if field is not None else None
        pages_ref = writer.reserve()
        resources = writer.reserve()  # every page shares one resource dictionary
        kids: list[Ref] = []
        widget: Ref | None = None
        page_refs = [writer.reserve() for _ in layout.pages]
        for n, page in enumerate(layout.pages):
            stamped = {page.items.index(slot) for page_no, slot in slots[1:] if page_no == n}
            data = self.content(page, seal, stamped)
            content = writer.add(Stream({"Filter": Name("FlateDecode")}, deflate(data)))
            entries: dict[str, object] = {
                "Type": Name("Page"),
                "Parent": pages_ref,
                "MediaBox": [0, 0, page.width * _MM, page.height * _MM],
                "Resources": resources,
                "Contents": content,
            }
            if field is not None and signed_slot is not None and signed_slot[0] == n:
                box = signed_slot[1].box
                rect = [
                    box.x * _MM,
                    (page.height - box.y - box.h) * _MM,
                    (box.x + box.w) * _MM,
                    (page.height - box.y) * _MM,
                ]
                widget = self.signature(field, page_refs[n], rect)
                entries["Annots"] = [widget]
            kids.append(page_refs[n])
            writer.put(page_refs[n], entries)
        writer.put(resources, self.resources())
        writer.put(pages_ref, {"Type": Name("Pages"), "Kids": kids, "Count": len(kids)})
        metadata = writer.add(
            Stream({"Type": Name("Metadata"), "Subtype": Name("XML")}, _xmp(layout, at))
        )
        catalog: dict[str, object] = {
            "Type": Name("Catalog"),
            "Pages": pages_ref,
            "Metadata": metadata,
            "Lang": Text("zh-CN"),
        }
        if widget is not None:
            catalog["AcroForm"] = {"Fields": [widget], "SigFlags": _SIG_FLAGS}
        root = writer.add(catalog)
        date = Text(pdf_date(at))
        info = writer.add(
            {
                "Title": Text(layout.title),
                "Author": Text(_issuer(layout)),
                "Subject": Text(cert.identifier),
                "Keywords": Text(f"{cert.kind.type_name},{cert.number}"),
                "Creator": Text(f"docgen {__version__}"),
                "Producer": Text(PRODUCER),
                "CreationDate": date,
                "ModDate": date,
                "Trapped": Name("False"),
                **{f"{METADATA_PREFIX}{key}": Text(value) for key, _, value in layout.metadata},
            }
        )
        file_id = hashlib.md5(f"{cert.identifier}\0{at.isoformat()}".encode()).digest()
        return writer.finish(root, info, file_id)


def render_pdf(layout: DocumentLayout) -> bytes:
    """The unsigned PDF of ``layout``: fonts embedded as subsets, GB/T 36903 metadata in
    Info and XMP, seal slots empty. The same layout always gives the same bytes."""
    return bytes(_Document(layout).write(None).data)


def render_for_signing(layout: DocumentLayout, field: SignatureField) -> WrittenFile:
    """The PDF of ``layout`` with its signature field on the first seal slot and the seal
    picture on the others, the signature's place reserved (see
    :func:`docgen.pdf.signature.embed_signature`).

    Raises:
        ValueError: the layout has no seal slot.
    """
    return _Document(layout).write(field)
