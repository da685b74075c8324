"""Seal or sign an OFD package.

* ``sm2`` profile — ``Type="Seal"``: ``SignedValue.dat`` is a GB/T 38540 v4 ``SES_Signature``
  (SM3withSM2 over DER(TBS_Sign), ``dataHash`` = SM3 of the raw ``Signature.xml``), the seal
  itself is stored as ``Seal.esl``; reference digests are SM3.
* ``ecdsa`` profile — ``Type="Sign"``: ``SignedValue.dat`` is a detached CMS SignedData
  (ECDSA-SHA256, signer certificate embedded) over the raw ``Signature.xml``; digests SHA-256.

Every file present before ``Signature.xml`` is written is referenced, OFD.xml (already
pointing at Signatures.xml) and Seal.esl included — except ``Signatures.xml``, the list of
signatures, which a later signature extends (ofdrw's "continue signing" mode): the 加注 of an
annotated copy (:mod:`docgen.annotation`) is added and signed after the issuer's seal. A
verifier accepts an entry no valid signature covers only when it is a signature part.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from asn1crypto.core import GeneralizedTime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from lxml import etree

from ..clock import BEIJING
from ..gm import OID_SM3, OID_SM3_WITH_SM2, sm3
from ..layout import DocumentLayout, seal_slots
from ..ofd.package import OFD_NS, write_package
from ..ofd.signatures import (
    OID_SHA256,
    SIGNATURES_FILE,
    Reference,
    StampAnnot,
    digest,
    page_ids,
    sign_dir,
    signature_xml,
    signatures_xml,
)
from ..ofd.writer import build_parts
from ..ses.v4 import VERSION, SES_Signature, SESeal, TBS_Sign
from .keystore import Signer
from .sm2 import SM2PrivateKey
from .spliced import filled

__all__ = ["OID_ECDSA_SHA256", "add_signature", "seal_ofd", "ses_signature"]

OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2"


def _tbs(seal: bytes, property_info: str, values: Mapping[str, bytes]) -> TBS_Sign:
    return TBS_Sign(
        {
            "version": VERSION,
            "eseal": SESeal.load(seal),
            "timeInfo": GeneralizedTime(contents=values["time"]),
            "dataHash": values["hash"],
            "propertyInfo": property_info,
        }
    )


def _ses(seal: bytes, signer: Signer, property_info: str, values: Mapping[str, bytes]) -> bytes:
    return bytes(
        SES_Signature(
            {
                "toSign": _tbs(seal, property_info, values),
                "cert": signer.certificate,
                "signatureAlgID": OID_SM3_WITH_SM2,
                "signature": values["signature"],
            }
        ).dump()
    )


def ses_signature(
    signature_file: bytes,
    seal: bytes,
    signer: Signer,
    key: SM2PrivateKey,
    property_info: str,
    when: datetime,
) -> bytes:
    """A GB/T 38540 v4 SES_Signature by ``key`` (of ``signer``'s certificate) over the
    SM3 digest of ``signature_file`` (a Signature.xml), with ``seal`` embedded.

    The structure is encoded once per seal, signer and place and filled in for each
    signature (:mod:`docgen.signing.spliced`)."""
    values = {
        "time": GeneralizedTime(when.astimezone(UTC).replace(microsecond=0)).contents,
        "hash": sm3(signature_file),
    }
    place = (signer, seal, property_info)
    tbs = filled(("ses tbs", *place), lambda v: bytes(_tbs(seal, property_info, v).dump()), values)
    values["signature"] = key.sign(tbs)
    return filled(("ses", *place), lambda v: _ses(seal, signer, property_info, v), values)


def _cms_signature(signature_file: bytes, signer: Signer, key: ec.EllipticCurvePrivateKey) -> bytes:
    cert = x509.load_der_x509_certificate(signer.certificate)
    return (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(signature_file)
        .add_signer(cert, key, hashes.SHA256())
        .sign(
            serialization.Encoding.DER,
            [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
        )
    )


def add_signature(
    parts: dict[str, bytes],
    signer: Signer,
    seal: bytes | None,
    when: datetime,
    stamps: list[StampAnnot],
    *,
    final: bool,
) -> None:
    """Add a signature to the package ``parts`` (changed in place): the next ``Sign_N``
    folder, listed in Signatures.xml, referencing every file present — Signatures.xml too
    when ``final`` (no signature may follow), else not (a later one may be listed).

    Raises:
        ValueError: the sm2 profile without a seal, or a signer key of the wrong kind.
    """
    is_seal = isinstance(signer.key, SM2PrivateKey)
    if is_seal and seal is None:
        raise ValueError("an SM2 seal signature needs the SESeal")
    entries = []
    if SIGNATURES_FILE in parts:
        listed = etree.fromstring(parts[SIGNATURES_FILE])
        entries = [
            (e.get("ID", ""), e.get("Type", "Seal"), e.get("BaseLoc", ""))
            for e in listed.iterfind(f"{{{OFD_NS}}}Signature")
        ]
    folder = sign_dir(len(entries))
    signature_loc = f"/{folder}/Signature.xml"
    entries.append((f"s{len(entries) + 1}", "Seal" if is_seal else "Sign", signature_loc))
    parts[SIGNATURES_FILE] = signatures_xml(entries)
    if is_seal:
        assert seal is not None
        parts[f"{folder}/Seal.esl"] = seal
    check_method = OID_SM3 if is_seal else OID_SHA256
    references = [
        Reference(f"/{path}", digest(check_method, data))
        for path, data in parts.items()
        if final or path != SIGNATURES_FILE
    ]
    signature_file = signature_xml(
        method=OID_SM3_WITH_SM2 if is_seal else OID_ECDSA_SHA256,
        date_time=when.astimezone(BEIJING).strftime("%Y%m%d%H%M%S"),
        check_method=check_method,
        references=references,
        stamps=stamps,
        seal_loc=f"/{folder}/Seal.esl" if is_seal else None,
        signed_value_loc=f"/{folder}/SignedValue.dat",
    )
    parts[f"{folder}/Signature.xml"] = signature_file
    if isinstance(signer.key, SM2PrivateKey):
        assert seal is not None
        value = ses_signature(signature_file, seal, signer, signer.key, signature_loc, when)
    elif isinstance(signer.key, ec.EllipticCurvePrivateKey):
        value = _cms_signature(signature_file, signer, signer.key)
    else:  # pragma: no cover - Signer only holds these two
        raise ValueError("unsupported signer key")
    parts[f"{folder}/SignedValue.dat"] = value


def seal_ofd(layout: DocumentLayout, signer: Signer, seal: bytes | None, when: datetime) -> bytes:
    """The OFD of ``layout`` sealed (``sm2`` signer, needs the SESeal) or signed (``ecdsa``).

    ``when`` is the signing time written into the signature. Signatures.xml is left out of
    the references, so that an annotated copy can add its own signature.

    Raises:
        ValueError: the sm2 profile without a seal, or a signer key of the wrong kind.
    """
    parts = build_parts(layout, signatures=f"/{SIGNATURES_FILE}")
    pages = page_ids(parts)
    stamps = [
        StampAnnot(f"sa{n + 1}", pages[page], (slot.box.x, slot.box.y, slot.box.w, slot.box.h))
        for n, (page, slot) in enumerate(seal_slots(layout))
    ]
    add_signature(parts, signer, seal, when, stamps, final=False)
    return write_package(parts, layout.certificate.issued_at)
