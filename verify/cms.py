"""Check a detached CMS SignedData (PKCS#7, or GB/T 35275 with SM2) over given content."""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import cms, core
from asn1crypto import x509 as a509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from docgen.gm import sm2_public_point, sm2_verify
from docgen.ofd.signatures import digest
from docgen.ses.reader import MALFORMED_DER, signature_to_der

__all__ = ["OID_GM_SIGNED_DATA", "CmsResult", "is_cms", "verify_cms"]

OID_GM_SIGNED_DATA = "1.2.156.10197.6.1.4.2.2"
_OID_PKCS7_SIGNED_DATA = "1.2.840.113549.1.7.2"


class _ContentInfo(core.Sequence):
    _fields = [  # noqa: RUF012 - asn1crypto's declaration style
        ("content_type", core.ObjectIdentifier),
        ("content", core.Any, {"explicit": 0}),
    ]


@dataclass(frozen=True)
class CmsResult:
    """Whether the signature holds, and who made it."""

    intact: bool
    signer_cert: bytes | None
    detail: str


def is_cms(data: bytes) -> bool:
    """Whether ``data`` is a ContentInfo holding SignedData (PKCS#7 or GB/T 35275)."""
    try:
        info = _ContentInfo.load(data, strict=False)
        return info["content_type"].dotted in (OID_GM_SIGNED_DATA, _OID_PKCS7_SIGNED_DATA)
    except (ValueError, TypeError):
        return False


def _digest(algorithm: str, data: bytes) -> bytes | None:
    """The digest named by a CMS digest algorithm OID (SM3 or SHA-256), or None."""
    try:
        return digest(algorithm, data)
    except ValueError:
        return None


def _check(cert_der: bytes, message: bytes, signature: bytes) -> bool:
    """Verify with the certificate's key: SM2 through GmSSL, ECDSA/RSA through cryptography."""
    try:
        point = sm2_public_point(a509.Certificate.load(cert_der).public_key)
    except ValueError:
        point = None
    if point is not None:
        return sm2_verify(point, message, signature_to_der(signature))
    try:
        key = x509.load_der_x509_certificate(cert_der).public_key()
    except UnsupportedAlgorithm:
        return False
    except (ValueError, x509.InvalidVersion) as exc:  # e.g. "1 is not a valid X509 version"
        raise ValueError(f"the signer certificate cannot be read ({exc})") from exc
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError):
        return False
    return True


def verify_cms(data: bytes, content: bytes) -> CmsResult:
    """Check the first signer of a detached SignedData over ``content``."""
    try:
        info = _ContentInfo.load(data, strict=False)
        signed = info["content"].parse(cms.SignedData)
        signer = signed["signer_infos"][0]
        certs = [c.chosen.dump() for c in signed["certificates"]] if signed["certificates"] else []
        if not certs:
            return CmsResult(False, None, "no signer certificate in the signature")
        cert_der = bytes(certs[0])
        digest_oid = signer["digest_algorithm"]["algorithm"].dotted
        signature = bytes(signer["signature"].native)
        attrs = signer["signed_attrs"]
        if attrs:
            expected = _digest(digest_oid, content)
            if expected is None:
                return CmsResult(False, cert_der, f"unsupported digest algorithm {digest_oid}")
            digest = next(
                (a["values"][0].native for a in attrs if a["type"].native == "message_digest"),
                None,
            )
            if digest != expected:
                return CmsResult(False, cert_der, "message digest does not match the content")
            message = attrs.untag().dump()  # signed as SET OF, not [0]
        else:
            message = content
        if not _check(cert_der, message, signature):
            return CmsResult(False, cert_der, "signature value does not verify")
    except MALFORMED_DER as exc:
        why = str(exc) or type(exc).__name__
        return CmsResult(False, None, f"malformed CMS signature ({why})")
    return CmsResult(True, cert_der, "signature value verifies")
