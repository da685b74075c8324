"""Sign QR payloads (COSE_Sign1, ES256) with an issuing body's ECDSA signer.

The nonce of each ECDSA signature is derived from the key and the message (RFC 6979), so
the same claims signed by the same key always give the same QR: a certificate's visible
content is reproducible, and no signature depends on the quality of a random source. cwt
(the verifier's COSE library) cannot sign that way, so the COSE_Sign1 structure (RFC 9052
§4.2-4.4) is assembled here with cbor2; cwt checks it on the verifying side.
"""

from __future__ import annotations

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

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


_COSE_SIGN1_TAG = 18
_P256_BYTES = 32


def sign_cose(payload: bytes, signer: Signer) -> bytes:
    """A tagged COSE_Sign1 message (ES256, key id in the protected header) over
    ``payload``, with a deterministic ECDSA nonce (RFC 6979).

    Raises:
        ValueError: the signer is not an ECDSA P-256 signer.
    """
    key = signer.key
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError(f"the {signer.profile} signer has no ECDSA P-256 key")
    protected = cbor2.dumps({_HEADER_ALG: ALG_ES256, _HEADER_KID: signer.kid})
    to_be_signed = cbor2.dumps(["Signature1", protected, b"", payload])
    der = key.sign(to_be_signed, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    signature = r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")
    return cbor2.dumps(cbor2.CBORTag(_COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def sign_claims(claims: QRClaims, signer: Signer) -> str:
    """The QR text: claims signed by ``signer`` (an ``ecdsa`` signer), packed.

    Raises:
        ValueError: the signer is not an ECDSA P-256 signer.
    """
    return pack(sign_cose(claims.to_cbor(), signer))
