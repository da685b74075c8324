"""PAdES signatures (B-B, or B-T with a timestamp authority) through pyHanko.

The signature is visible: its widget sits on the layout's first seal slot and its appearance
is the seal picture. PDF readers (Acrobat, poppler, pyHanko) verify ECDSA and RSA, not SM2,
so PDFs are signed with the ``ecdsa`` profile's signer; the OFD carries the SM2 seal.
"""

from __future__ import annotations

import io

from asn1crypto import keys as akeys
from asn1crypto import x509 as a509
from cryptography.hazmat.primitives import serialization
from PIL import Image
from pyhanko.pdf_utils import images
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


def seal_slots(layout: DocumentLayout) -> list[tuple[int, SlotItem]]:
    """Every seal slot of the layout with its page index, in document order."""
    return [
        (n, item)
        for n, page in enumerate(layout.pages)
        for item in page.items
        if isinstance(item, SlotItem) and item.id == "seal"
    ]


def cms_signer(signer: Signer) -> signers.SimpleSigner:
    """pyHanko's signer for an ECDSA ``signer``, its root in the certificate store."""
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
    style = StaticStampStyle(
        background=images.PdfImage(Image.open(io.BytesIO(seal_png))),
        background_opacity=1.0,
        border_width=0,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        cms_signer(signer),
        timestamper=timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None,
        stamp_style=style,
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
