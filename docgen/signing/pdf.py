"""PAdES signatures (B-B, or B-T with a timestamp authority).

The signature is visible: its widget sits on the layout's first seal slot and its appearance
is the seal picture (both written by the renderer, :func:`docgen.pdf.render_for_signing`).
PDF readers (Acrobat, poppler, pyHanko) verify ECDSA and RSA, not SM2, so PDFs are signed
with the ``ecdsa`` profile's signer; the OFD carries the SM2 seal.

The CMS (RFC 5652 SignedData, detached, with the PAdES signed attributes: content type,
message digest, ESS signing-certificate-v2; the time is the signature dictionary's ``/M``)
is encoded by asn1crypto once per signer and filled in for each signature
(:mod:`docgen.signing.spliced`), and signed with cryptography. pyHanko builds the same
structure in about 9 ms a signature, most of it re-encoding certificates it has parsed; this
takes about 0.1 ms. A timestamp token, when asked for, comes from pyHanko's RFC 3161 client.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from asn1crypto import cms, tsp
from asn1crypto import keys as akeys
from asn1crypto import x509 as a509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign import signers, timestamps
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ..errors import SigningError
from ..layout import DocumentLayout
from ..pdf import render_for_signing
from ..pdf.signature import SignatureField, embed_signature
from .keystore import Signer
from .spliced import filled

__all__ = ["SIGNATURE_FIELD", "cms_signature", "cms_signer", "sign_pdf"]

#: Name of the signature field our PDFs carry.
SIGNATURE_FIELD = "Seal"
# Room for the CMS: without a timestamp its size is known but for the ECDSA signature's few
# bytes of variation, so it is measured once per signer and this margin added (a reader
# parses every reserved byte as hex, so spare room costs every verification time); a
# timestamp token with its TSA chain adds ≈ 4-6 KB of unknown size.
_MARGIN = 64
_LONGEST_ECDSA = 72  # SEQUENCE of two INTEGERs of at most 33 bytes
_RESERVED_WITH_TSA = 24576


@dataclass(frozen=True)
class _SignerParts:
    """What every CMS by one signer repeats, encoded once (asn1crypto takes an unparsed
    value as it is; building the same from dictionaries re-encodes every certificate)."""

    key: ec.EllipticCurvePrivateKey
    certificates: bytes  # the CertificateSet: signer and root
    sid: bytes  # the SignerIdentifier: issuer and serial number
    signing_certificate: bytes  # the ESS signing-certificate-v2 attribute


@lru_cache(maxsize=16)
def _parts(signer: Signer) -> _SignerParts:
    key = signer.key
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"the {signer.profile} signer has no ECDSA key")
    cert = a509.Certificate.load(signer.certificate)
    issuer_serial = {"issuer": cert.issuer, "serial_number": cert.serial_number}
    ess = cms.CMSAttribute(
        {
            "type": "signing_certificate_v2",
            "values": [
                {
                    "certs": [
                        {
                            "cert_hash": hashlib.sha256(signer.certificate).digest(),
                            "issuer_serial": {
                                "issuer": [a509.GeneralName("directory_name", cert.issuer)],
                                "serial_number": cert.serial_number,
                            },
                        }
                    ]
                }
            ],
        }
    )
    certificates = cms.CertificateSet(
        [a509.Certificate.load(der) for der in (signer.certificate, signer.root)]
    )
    return _SignerParts(
        key=key,
        certificates=certificates.dump(),
        sid=cms.SignerIdentifier("issuer_and_serial_number", issuer_serial).dump(),
        signing_certificate=ess.dump(),
    )


def _attributes(parts: _SignerParts, digest: bytes) -> cms.CMSAttributes:
    return cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["data"]},
            {"type": "message_digest", "values": [digest]},
            cms.CMSAttribute.load(parts.signing_certificate),
        ]
    )


def _content_info(
    parts: _SignerParts, values: Mapping[str, bytes], timestamp: tsp.ContentInfo | None = None
) -> bytes:
    """DER of the ContentInfo around a SignedData with ``values["digest"]`` signed as
    ``values["signature"]`` (and ``timestamp`` as the signature's timestamp token)."""
    info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier.load(parts.sid),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": _attributes(parts, values["digest"]),
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": values["signature"],
        }
    )
    if timestamp is not None:
        info["unsigned_attrs"] = [{"type": "signature_time_stamp_token", "values": [timestamp]}]
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": "data"},
            "signer_infos": [info],
        }
    )
    signed_data["certificates"] = cms.CertificateSet.load(parts.certificates)
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


def cms_signature(digest: bytes, signer: Signer, tsa_url: str | None = None) -> bytes:
    """DER of a detached CMS SignedData over a SHA-256 ``digest``: PAdES signed attributes,
    ECDSA with SHA-256 by ``signer``, the signer and root certificates, and with
    ``tsa_url`` a signature timestamp token.

    The structure is encoded once per signer (and length of signature value) and filled in
    (:mod:`docgen.signing.spliced`); with a timestamp it is encoded whole.

    Raises:
        ValueError: the signer is not ECDSA.
        SigningError: the timestamp authority failed.
    """
    parts = _parts(signer)
    signed_attrs = filled(
        ("cms attributes", signer),
        lambda v: bytes(_attributes(parts, v["digest"]).dump()),
        {"digest": digest},
    )
    signature = parts.key.sign(signed_attrs, ec.ECDSA(hashes.SHA256()))
    values = {"digest": digest, "signature": signature}
    if tsa_url:
        return _content_info(parts, values, _timestamp(signature, tsa_url))
    return filled(("cms", signer), lambda v: _content_info(parts, v), values)


@lru_cache(maxsize=16)
def _reserved(signer: Signer) -> int:
    """The room for this signer's CMS: the same in every process (a sample's size, with
    its ECDSA signature counted at the longest a P-256 DER signature can be)."""
    sample = cms_signature(bytes(32), signer)
    signature = cms.ContentInfo.load(sample)["content"]["signer_infos"][0]["signature"]
    return len(sample) - len(signature.native) + _LONGEST_ECDSA + _MARGIN


def _timestamp(signature: bytes, tsa_url: str) -> tsp.ContentInfo:
    stamper = timestamps.HTTPTimeStamper(tsa_url)
    imprint = hashlib.sha256(signature).digest()
    try:
        return asyncio.run(stamper.async_timestamp(imprint, "sha256"))
    except timestamps.TimestampRequestError as exc:
        raise SigningError(f"timestamp authority {tsa_url} failed: {exc}") from exc


@lru_cache(maxsize=16)
def cms_signer(signer: Signer) -> signers.SimpleSigner:
    """pyHanko's signer for an ECDSA ``signer`` (for signatures added to an existing PDF,
    such as an annotated copy's), its root in the certificate store; made once per signer."""
    pkcs8 = signer.ecdsa_pkcs8(serialization.Encoding.DER)
    return signers.SimpleSigner(
        signing_cert=a509.Certificate.load(signer.certificate),
        signing_key=akeys.PrivateKeyInfo.load(pkcs8),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [a509.Certificate.load(signer.root)]
        ),
    )


def sign_pdf(
    layout: DocumentLayout,
    signer: Signer,
    seal_png: bytes,
    issuer_name: str,
    signed_at: datetime,
    tsa_url: str | None = None,
) -> bytes:
    """The PDF of ``layout`` with a visible PAdES signature by ``signer`` on its first seal
    slot (the seal picture on every other slot).

    Raises:
        ValueError: the layout has no seal slot, or the signer is not ECDSA.
        SigningError: the timestamp authority failed.
    """
    cert = layout.certificate
    field = SignatureField(
        name=SIGNATURE_FIELD,
        signer_name=issuer_name,
        reason=f"{cert.kind.title} {cert.number}",
        signed_at=signed_at,
        picture=seal_png,
        reserved=_RESERVED_WITH_TSA if tsa_url else _reserved(signer),
    )
    written = render_for_signing(layout, field)
    return embed_signature(written, lambda digest: cms_signature(digest, signer, tsa_url))
