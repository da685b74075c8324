"""Render a :class:`~docgen.layout.DocumentLayout` to PDF with reportlab.

The layout already fixed every glyph position; this module only converts millimetres
(top-left origin) to points (bottom-left origin). Output is byte-identical for the same
layout: reportlab runs in invariant mode and the dates are the issue time.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfdoc import PDFDictionary, PDFInfo, PDFName, PDFStream, PDFString
from reportlab.pdfgen.canvas import Canvas

from .. import __version__
from ..fonts import font_stack
from ..layout import (
    DocumentLayout,
    GlyphRun,
    ImageItem,
    PageLayout,
    PathItem,
    RectsItem,
    SlotItem,
    TextItem,
)
from ..metadata import METADATA_PREFIX
from . import _tounicode

__all__ = ["PRODUCER", "render_pdf"]

_tounicode.install()

PRODUCER = f"docgen {__version__} (reportlab)"
_XMP_NS = "http://ecert.example/ns/gbt36903/1.0/"


def _pdf_date(at: datetime) -> str:
    offset = at.strftime("%z")
    return f"D:{at.strftime('%Y%m%d%H%M%S')}{offset[:3]}'{offset[3:]}'"


class _Info(PDFInfo):  # type: ignore[misc]
    """reportlab's document information dictionary plus our GB/T 36903 entries."""

    def __init__(self, extra: dict[str, str], date: str) -> None:
        super().__init__()
        self.extra = extra
        self.date = date

    def format(self, document: object) -> bytes:
        entries = {
            "Title": PDFString(self.title),
            "Author": PDFString(self.author),
            "Subject": PDFString(self.subject),
            "Keywords": PDFString(self.keywords),
            "Creator": PDFString(self.creator),
            "Producer": PDFString(self.producer),
            "CreationDate": PDFString(self.date),
            "ModDate": PDFString(self.date),
            "Trapped": PDFName("False"),
        }
        entries.update({k: PDFString(v) for k, v in self.extra.items()})
        result: bytes = PDFDictionary(entries).format(document)
        return result


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


def _rgb(color: tuple[int, int, int]) -> tuple[float, float, float]:
    return (color[0] / 255, color[1] / 255, color[2] / 255)


def _draw_run(canvas: Canvas, page: PageLayout, run: GlyphRun) -> None:
    size_pt = run.size * mm
    natural = [run.face.advance(c) * run.size for c in run.text]
    extras = [a - n for a, n in zip(run.advances, natural, strict=True)]
    text = canvas.beginText()
    text.setFont(run.face.register(), size_pt)
    uniform = all(abs(e - extras[0]) < 1e-6 for e in extras[:-1])
    if uniform:
        text.setCharSpace(extras[0] * mm if len(run.text) > 1 else 0)
        text.setTextOrigin(run.x * mm, (page.height - run.baseline) * mm)
        text.textOut(run.text)
    else:  # glyph by glyph: positions are what the layout says, whatever the spacing
        x = run.x
        for char, advance in zip(run.text, run.advances, strict=True):
            text.setTextOrigin(x * mm, (page.height - run.baseline) * mm)
            text.textOut(char)
            x += advance
    canvas.drawText(text)


def _draw_page(canvas: Canvas, page: PageLayout, seal_png: bytes | None, stamped: set[int]) -> None:
    canvas.setPageSize((page.width * mm, page.height * mm))
    for index, item in enumerate(page.items):
        if isinstance(item, SlotItem) and index in stamped and seal_png:
            box = item.box
            canvas.drawImage(
                ImageReader(io.BytesIO(seal_png)),
                box.x * mm,
                (page.height - box.y - box.h) * mm,
                box.w * mm,
                box.h * mm,
                mask="auto",
            )
        elif isinstance(item, PathItem):
            canvas.setStrokeColorRGB(*_rgb(item.color))
            canvas.setLineWidth(item.stroke * mm)
            path = canvas.beginPath()
            (x0, y0), *rest = item.points
            path.moveTo(x0 * mm, (page.height - y0) * mm)
            for x, y in rest:
                path.lineTo(x * mm, (page.height - y) * mm)
            if item.closed:
                path.close()
            canvas.drawPath(path, stroke=1, fill=0)
        elif isinstance(item, RectsItem):
            canvas.setFillColorRGB(*_rgb(item.color))
            path = canvas.beginPath()
            for x, y, w, h in item.rects:
                path.rect(x * mm, (page.height - y - h) * mm, w * mm, h * mm)
            canvas.drawPath(path, stroke=0, fill=1)
        elif isinstance(item, ImageItem):
            box = item.box
            canvas.drawImage(
                ImageReader(io.BytesIO(item.data)),
                box.x * mm,
                (page.height - box.y - box.h) * mm,
                box.w * mm,
                box.h * mm,
            )
        elif isinstance(item, TextItem):
            canvas.setFillColorRGB(*_rgb(item.color))
            for run in item.runs:
                _draw_run(canvas, page, run)
    canvas.showPage()


def render_pdf(layout: DocumentLayout, seal_png: bytes | None = None) -> bytes:
    """The PDF of ``layout``: fonts embedded as subsets, GB/T 36903 metadata in Info and XMP.

    With ``seal_png``, the seal picture is drawn on every seal slot but the first, which the
    signature's own visible widget fills (a PDF signature field has one widget).
    Returns the file's bytes; the same layout always gives the same bytes.
    """
    cert = layout.certificate
    at = cert.issued_at
    out = io.BytesIO()
    # The initial font is ours: otherwise reportlab adds an unembedded Helvetica resource.
    initial = font_stack().primary.register()
    canvas = Canvas(out, invariant=1, pageCompression=1, lang="zh-CN", initialFontName=initial)
    info = _Info(
        {f"{METADATA_PREFIX}{key}": value for key, _, value in layout.metadata},
        _pdf_date(at),
    )
    canvas._doc.info = info  # reportlab has no public hook for custom Info entries
    canvas.setTitle(layout.title)
    canvas.setAuthor(_issuer(layout))
    canvas.setSubject(cert.identifier)
    canvas.setKeywords(f"{cert.kind.type_name},{cert.number}")
    canvas.setCreator(f"docgen {__version__}")
    canvas.setProducer(PRODUCER)
    formatter: Callable[..., str] = lambda *_: _pdf_date(at)  # noqa: E731
    canvas.setDateFormatter(formatter)
    xmp = PDFStream(
        PDFDictionary({"Type": PDFName("Metadata"), "Subtype": PDFName("XML")}),
        _xmp(layout, at),
        filters=[],
    )
    canvas.setCatalogEntry("Metadata", xmp)
    slots = [
        (n, index)
        for n, page in enumerate(layout.pages)
        for index, item in enumerate(page.items)
        if isinstance(item, SlotItem) and item.id == "seal"
    ]
    for n, page in enumerate(layout.pages):
        stamped = {index for page_no, index in slots[1:] if page_no == n}
        _draw_page(canvas, page, seal_png, stamped)
    canvas.save()
    return out.getvalue()
