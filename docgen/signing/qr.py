"""Sign QR payloads (COSE_Sign1, ES256) with an issuing body's ECDSA signer."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cwt import COSE, COSEKey

from ..qrpayload import ALG_ES256, QRClaims, id_hint, pack
from ..validation import Certificate
from .keystore import Signer

__all__ = ["claims_for", "sign_claims", "sign_cose"]

_HEADER_ALG = 1
_HEADER_KID = 4


def claims_for(cert: Certificate) -> QRClaims:
    """The QR claims of a validated certificate."""
    values = cert.values
    return QRClaims(
        kind=cert.kind.name,
        number=cert.number,
        version=cert.version,
        holder=str(values["name"]),
        id_hint=id_hint(str(values["id_number"])),
        issued=values["issue_date"],
        valid_from=values.get("valid_from"),
        valid_to=values.get("valid_to"),
        review=values.get("review_date"),
        status_index=cert.status_index,
    )


def sign_cose(payload: bytes, signer: Signer) -> bytes:
    """A COSE_Sign1 message (ES256, key id in the protected header) over ``payload``.

    Raises:
        ValueError: the signer is not an ECDSA P-256 signer.
    """
    pem = signer.ecdsa_pkcs8(serialization.Encoding.PEM)
    key = COSEKey.from_pem(pem, alg="ES256", kid=signer.kid)
    protected = {_HEADER_ALG: ALG_ES256, _HEADER_KID: signer.kid}
    return bytes(COSE.new().encode(payload, key, protected=protected, unprotected={}))


def sign_claims(claims: QRClaims, signer: Signer) -> str:
    """The QR text: claims signed by ``signer`` (an ``ecdsa`` signer), packed.

    Raises:
        ValueError: the signer is not an ECDSA P-256 signer.
    """
    return pack(sign_cose(claims.to_cbor(), signer))
