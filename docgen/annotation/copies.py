"""Annotated copies (加注): the issuer's sealed OFD and signed PDF, plus a signed 加注 band.

The issuer's original signature stays intact in both files — the certificate's authenticity
never depends on the annotation — and the annotation gets its own signature by the issuer:

* OFD (FORMATS.md §2): the first seal left out ``Signatures.xml`` and pointed Document.xml at
  ``Annots/Annotations.xml`` before sealing. The copy adds that file and the page's
  ``Annot Type="Stamp"`` (the band drawn in its ``Appearance``, the claims as ``Parameters``),
  then a second seal that covers every file, the first signature's included.
* PDF: an incremental update adds a second approval signature whose visible appearance is
  the band; the first signature's revision is untouched.

The band comes from the kind's ``[annotation.band]`` template through the one layout model
(:func:`docgen.layout.build_band`), so both files show the same band; its QR carries the
:class:`~docgen.qrpayload.AnnotationClaims`, signed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from lxml import etree
from pyhanko.pdf_utils import content
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.stamp import StaticStampStyle

from ..clock import BEIJING
from ..layout import DocumentLayout, PageLayout, build_band
from ..metadata import core_metadata
from ..ofd.package import DOC_ROOT, OFD_NS, ofd, read_package, serialize, write_package
from ..ofd.signatures import page_ids
from ..ofd.writer import ANNOTATION_IDS, ANNOTATIONS_LOC, Drawer
from ..pdf import render_pdf
from ..qrpayload import AnnotationClaims, pack
from ..signing.ofd import add_signature
from ..signing.pdf import cms_signer
from ..signing.qr import sign_cose
from ..signing.sealer import Sealer
from ..validation import Certificate

__all__ = ["ANNOTATION_FIELD", "QR_PARAMETER", "AnnotatedCopy", "annotated_copy"]

#: Name of the PDF signature field that carries the 加注.
ANNOTATION_FIELD = "Annotation"
#: The OFD annotation parameter holding the band's QR text (the signed claims).
QR_PARAMETER = "docgen.qr"
_MM = 72 / 25.4
_RESERVED = 8192


@dataclass(frozen=True)
class AnnotatedCopy:
    """The two files of an annotated copy, and what its QR says."""

    ofd: bytes
    pdf: bytes
    qr_text: str


def _slot_page(cert: Certificate) -> int:
    for n, page in enumerate(cert.kind.pages):
        if any(item.get("type") == "annotation" for item in page["items"]):
            return n
    raise ValueError(f"kind {cert.kind.name} has no annotation slot")


def _font_ids(parts: dict[str, bytes], band: PageLayout) -> dict[str, str]:
    """Font IDs of the sealed package by face key, matched on the family name."""
    res = etree.fromstring(parts["Doc_0/PublicRes.xml"])
    by_family = {f.get("FontName"): f.get("ID", "") for f in res.iter(f"{{{OFD_NS}}}Font")}
    ids = {}
    for item in band.items:
        for run in getattr(item, "runs", ()):
            if run.face.family not in by_family:
                raise ValueError(f"the sealed OFD embeds no font {run.face.family}")
            ids[run.face.key] = by_family[run.face.family]
    return ids


def _ofd_copy(
    original: bytes,
    cert: Certificate,
    band: PageLayout,
    claims: AnnotationClaims,
    qr_text: str,
    sealer: Sealer,
    when: datetime,
) -> bytes:
    parts = read_package(original)
    document = etree.fromstring(parts[DOC_ROOT])
    if document.findtext(f"{{{OFD_NS}}}Annotations") != ANNOTATIONS_LOC:
        raise ValueError("the sealed OFD leaves no room for an annotation (no Annotations)")
    top = int(document.findtext(f"{{{OFD_NS}}}CommonData/{{{OFD_NS}}}MaxUnitID") or "0")
    drawer = Drawer(_font_ids(parts, band), {}, top - ANNOTATION_IDS, top)
    band_box = cert.kind.annotation["band"]["box"]
    page_id = page_ids(parts)[_slot_page(cert)]
    index = ofd("Annotations")
    page = ofd("Page", {"PageID": page_id}, parent=index)
    ofd("FileLoc", text="Page_0/Annotation.xml", parent=page)
    root = ofd("PageAnnot")
    annot = ofd(
        "Annot",
        {
            "ID": drawer.ids.next(),
            "Type": "Stamp",
            "Creator": "docgen",
            "LastModDate": when.astimezone(BEIJING).date().isoformat(),
            "Subtype": "加注",
        },
        parent=root,
    )
    ofd("Remark", text=f"加注 {claims.annotation}", parent=annot)
    params = ofd("Parameters", parent=annot)
    for name, value in (
        ("number", claims.annotation),
        ("scenario", claims.scenario),
        ("valid_from", claims.valid_from.isoformat()),
        ("valid_to", claims.valid_to.isoformat()),
        (QR_PARAMETER, qr_text),
    ):
        ofd("Parameter", {"Name": name}, text=value, parent=params)
    appearance = ofd("Appearance", {"Boundary": " ".join(f"{v:g}" for v in band_box)}, parent=annot)
    drawer.draw(appearance, band.items)
    parts["Doc_0/" + ANNOTATIONS_LOC] = serialize(index)
    parts["Doc_0/Annots/Page_0/Annotation.xml"] = serialize(root)
    add_signature(parts, sealer.ofd_signer, sealer.seal, when, [], final=True)
    return write_package(parts, when.astimezone(BEIJING))


class _BandPage(content.PdfContent):
    """A page of an in-memory PDF as a stamp's content (pyHanko's ImportedPdfPage reads a
    file by name)."""

    def __init__(self, pdf: bytes) -> None:
        super().__init__()
        self.pdf = pdf

    def render(self) -> bytes:
        xobject = self._ensure_writer.import_page_as_xobject(
            PdfFileReader(io.BytesIO(self.pdf)), page_ix=0
        )
        self.resources.xobject["/Band"] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return b"/Band Do"


def _pdf_copy(
    original: bytes,
    cert: Certificate,
    band: PageLayout,
    metadata: tuple[tuple[str, str, str], ...],
    claims: AnnotationClaims,
    sealer: Sealer,
) -> bytes:
    page_index = _slot_page(cert)
    height = float(cert.kind.pages[page_index]["size"][1])
    x, y, w, h = (float(v) for v in cert.kind.annotation["band"]["box"])
    rect = (
        round(x * _MM),
        round((height - y - h) * _MM),
        round((x + w) * _MM),
        round((height - y) * _MM),
    )
    # The band alone, as a one-page PDF (the certificate's metadata, for a complete file).
    band_pdf = render_pdf(DocumentLayout(cert, (band,), metadata))
    meta = signers.PdfSignatureMetadata(
        field_name=ANNOTATION_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name=sealer.identity.name,
        reason=f"加注 {claims.annotation}: {claims.scenario}, "
        f"{claims.valid_from.isoformat()} – {claims.valid_to.isoformat()}",
    )
    style = StaticStampStyle(background=_BandPage(band_pdf), background_opacity=1.0, border_width=0)
    pdf_signer = signers.PdfSigner(
        meta,
        cms_signer(sealer.ecdsa_signer),
        stamp_style=style,
        new_field_spec=fields.SigFieldSpec(ANNOTATION_FIELD, on_page=page_index, box=rect),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(original))
    return bytes(pdf_signer.sign_pdf(writer, bytes_reserved=_RESERVED).getvalue())


def annotated_copy(
    cert: Certificate,
    ofd: bytes,
    pdf: bytes,
    *,
    annotation: str,
    scenario: str,
    valid_from: date,
    valid_to: date,
    sealer: Sealer,
    when: datetime,
) -> AnnotatedCopy:
    """The annotated copy of ``cert`` from its sealed ``ofd`` and signed ``pdf``: the band
    (annotation number, scenario, window from–to) signed by ``sealer`` at ``when``.

    Raises:
        ValueError: the files leave no room for an annotation, or the kind has no band.
        RecordError: a band value does not fit its box.
    """
    claims = AnnotationClaims(
        kind=cert.kind.name,
        number=cert.number,
        version=cert.version,
        annotation=annotation,
        scenario=scenario,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    qr_text = pack(sign_cose(claims.to_cbor(), sealer.ecdsa_signer))
    band = build_band(
        cert,
        {
            "scenario": scenario,
            "annotation": annotation,
            "annotation_from": valid_from.isoformat(),
            "annotation_to": valid_to.isoformat(),
        },
        qr_text,
    )
    return AnnotatedCopy(
        ofd=_ofd_copy(ofd, cert, band, claims, qr_text, sealer, when),
        pdf=_pdf_copy(pdf, cert, band, core_metadata(cert), claims, sealer),
        qr_text=qr_text,
    )
