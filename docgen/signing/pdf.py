"""PAdES signatures (B-B, or B-T with a timestamp authority) through pyHanko.

The signature is visible: its widget sits on the layout's first seal slot and its appearance
is the seal picture. PDF readers (Acrobat, poppler, pyHanko) verify ECDSA and RSA, not SM2,
so PDFs are signed with the ``ecdsa`` profile's signer; the OFD carries the SM2 seal.
"""

from __future__ import annotations

import io
import zlib
from functools import lru_cache
from typing import Any

from asn1crypto import keys as akeys
from asn1crypto import x509 as a509
from cryptography.hazmat.primitives import serialization
from PIL import Image
from pyhanko.pdf_utils import generic, images
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ..errors import SigningError
from ..layout import DocumentLayout, SlotItem
from .keystore import Signer

__all__ = ["SIGNATURE_FIELD", "cms_signer", "seal_slots", "sign_pdf"]

#: Name of the signature field our PDFs carry.
SIGNATURE_FIELD = "Seal"
_MM = 72 / 25.4
# CMS size: ECDSA signature + signer and root certificates ≈ 2.5 KB; a timestamp token with
# its TSA chain adds ≈ 4-6 KB. Too small a reservation makes pyHanko fail loudly.
_RESERVED = 8192
_RESERVED_WITH_TSA = 24576


class _PreparedImage(images.PdfImage):
    """A PNG with transparency as an image XObject whose colour and alpha streams are
    compressed once, then copied into every document (pyHanko's :class:`PdfImage`
    compresses them again for each)."""

    def __init__(self, png: bytes) -> None:
        image = Image.open(io.BytesIO(png)).convert("RGBA")
        super().__init__(image)
        self._rgb = zlib.compress(image.convert("RGB").tobytes())
        self._alpha = zlib.compress(image.getchannel("A").tobytes())
        self._made: tuple[object, generic.IndirectObject] | None = None

    def _stream(self, colours: str, data: bytes, **extra: Any) -> generic.StreamObject:
        entries = {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Image"),
            pdf_name("/Width"): generic.NumberObject(self.image.width),
            pdf_name("/Height"): generic.NumberObject(self.image.height),
            pdf_name("/ColorSpace"): pdf_name(colours),
            pdf_name("/BitsPerComponent"): generic.NumberObject(8),
            pdf_name("/Filter"): pdf_name("/FlateDecode"),
            **extra,
        }
        return generic.StreamObject(entries, encoded_data=data)

    @property
    def image_ref(self) -> generic.IndirectObject:
        writer = self.writer
        assert writer is not None
        if self._made is None or self._made[0] is not writer:
            alpha = writer.add_object(self._stream("/DeviceGray", self._alpha))
            rgb = self._stream("/DeviceRGB", self._rgb, **{pdf_name("/SMask"): alpha})
            self._made = (writer, writer.add_object(rgb))
        return self._made[1]


@lru_cache(maxsize=8)
def _seal_style(seal_png: bytes) -> StaticStampStyle:
    """The signature's appearance: the seal picture, prepared once per seal."""
    return StaticStampStyle(
        background=_PreparedImage(seal_png), background_opacity=1.0, border_width=0
    )


def seal_slots(layout: DocumentLayout) -> list[tuple[int, SlotItem]]:
    """Every seal slot of the layout with its page index, in document order."""
    return [
        (n, item)
        for n, page in enumerate(layout.pages)
        for item in page.items
        if isinstance(item, SlotItem) and item.id == "seal"
    ]


@lru_cache(maxsize=16)
def cms_signer(signer: Signer) -> signers.SimpleSigner:
    """pyHanko's signer for an ECDSA ``signer``, its root in the certificate store (made
    once per signer: the parsed certificates are reused, not parsed and re-encoded for
    every signature)."""
    pkcs8 = signer.ecdsa_pkcs8(serialization.Encoding.DER)
    return signers.SimpleSigner(
        signing_cert=a509.Certificate.load(signer.certificate),
        signing_key=akeys.PrivateKeyInfo.load(pkcs8),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [a509.Certificate.load(signer.root)]
        ),
    )


def sign_pdf(
    pdf: bytes,
    layout: DocumentLayout,
    signer: Signer,
    seal_png: bytes,
    issuer_name: str,
    tsa_url: str | None = None,
) -> bytes:
    """``pdf`` with a PAdES signature by ``signer`` appended as an incremental update.

    Raises:
        ValueError: the layout has no seal slot, or the signer is not ECDSA.
        SigningError: the timestamp authority failed.
    """
    slots = seal_slots(layout)
    if not slots:
        raise ValueError(f"kind {layout.certificate.kind.name} has no seal slot")
    page_index, slot = slots[0]
    page = layout.pages[page_index]
    box = slot.box
    rect = (  # whole points: pyHanko's field boxes are integers
        round(box.x * _MM),
        round((page.height - box.y - box.h) * _MM),
        round((box.x + box.w) * _MM),
        round((page.height - box.y) * _MM),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        name=issuer_name,
        reason=f"{layout.certificate.kind.title} {layout.certificate.number}",
    )
    pdf_signer = signers.PdfSigner(
        meta,
        cms_signer(signer),
        timestamper=timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None,
        stamp_style=_seal_style(seal_png),
        new_field_spec=fields.SigFieldSpec(SIGNATURE_FIELD, on_page=page_index, box=rect),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    # Reserving the space up front spares pyHanko a dry-run signature to measure it.
    reserved = _RESERVED_WITH_TSA if tsa_url else _RESERVED
    try:
        out = pdf_signer.sign_pdf(writer, bytes_reserved=reserved)
    except timestamps.TimestampRequestError as exc:
        raise SigningError(f"timestamp authority {tsa_url} failed: {exc}") from exc
    return bytes(out.getvalue())
