"""The QR signing keys of one or more trust lists as a JWKS, for the browser verifier.

The verification page checks a certificate's COSE_Sign1 QR payload with WebCrypto, which
imports EC public keys as JWK (RFC 7517/7518). This module turns ``trust.json`` files
(format ``docgen-trust-list/1``, see :meth:`docgen.signing.keystore.KeyStore.trust_list`)
into ``{"keys": [...]}``: one JWK per ECDSA P-256 signer, ``kid`` = the trust list's hex key
id, which is what the COSE protected header carries (as bytes). Besides the standard
members each key names its issuing body (``issuer``) and its validity (``not_before``,
``not_after``) so the page can show who signed and apply the same key-validity rule as
the Python verifier (the key must be valid on the certificate's issue date).

Only what the trust list vouches for is published, and nothing is taken on faith from it:
the key id must match the certificate, and the key is read from the certificate itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["TRUST_LIST_FORMAT", "JwksError", "jwks_from_trust", "jwks_from_trust_files"]

TRUST_LIST_FORMAT = "docgen-trust-list/1"
#: The trust-list profile whose signers sign QR payloads (and PDFs) with ECDSA P-256.
_QR_PROFILE = "ecdsa"
_P256_COORDINATE_BYTES = 32
_KID_BYTES = 8


class JwksError(ValueError):
    """A trust list cannot be turned into a JWKS: malformed, or a key id does not match."""


def _b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2), as JWK coordinates are written."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _iso(value: Any, what: str) -> str:
    """An ISO 8601 time with an offset, as the trust list writes it (checked, not changed)."""
    if not isinstance(value, str):
        raise JwksError(f"{what} is not a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise JwksError(f"{what} {value!r} is not an ISO 8601 time") from exc
    if parsed.tzinfo is None:
        raise JwksError(f"{what} {value!r} has no UTC offset")
    return value


def _issuer(trust: Mapping[str, Any]) -> dict[str, str]:
    issuer = trust.get("issuer")
    if not isinstance(issuer, dict):
        raise JwksError("the trust list names no issuer")
    name, code = issuer.get("name"), issuer.get("code")
    if not isinstance(name, str) or not isinstance(code, str):
        raise JwksError("the trust list's issuer has no name or code")
    return {"name": name, "code": code}


def _signer_jwk(entry: Mapping[str, Any], issuer: dict[str, str]) -> dict[str, Any] | None:
    """The JWK of one trust-list signer, or None when it is not an ECDSA P-256 signer."""
    if entry.get("profile") != _QR_PROFILE:
        return None  # SM2 signers seal the OFD; they never sign a QR payload
    pem = entry.get("certificate")
    if not isinstance(pem, str):
        raise JwksError("a signer has no certificate")
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise JwksError(f"a signer certificate is unreadable ({exc})") from exc
    der = cert.public_bytes(serialization.Encoding.DER)
    kid = hashlib.sha256(der).digest()[:_KID_BYTES].hex()
    # The COSE header names the key by this id; a list whose id disagrees with its own
    # certificate is corrupt, and publishing it would make the page trust the wrong key.
    if entry.get("kid") != kid:
        raise JwksError(
            f"signer key id {entry.get('kid')!r} does not match its certificate ({kid})"
        )
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        return None
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(_P256_COORDINATE_BYTES, "big")),
        "y": _b64url(numbers.y.to_bytes(_P256_COORDINATE_BYTES, "big")),
        "kid": kid,
        "alg": "ES256",
        "use": "sig",
        # RFC 7517 §4.7: x5c entries are standard base64 of the DER, not base64url.
        "x5c": [base64.b64encode(der).decode("ascii")],
        "issuer": dict(issuer),
        "not_before": _iso(entry.get("not_before"), f"signer {kid}: not_before"),
        "not_after": _iso(entry.get("not_after"), f"signer {kid}: not_after"),
    }


def jwks_from_trust(trust: Mapping[str, Any]) -> dict[str, Any]:
    """The JWKS of the QR signing keys (ECDSA P-256) of a parsed trust list.

    Raises:
        JwksError: not a ``docgen-trust-list/1``, malformed, or a signer's key id does not
            match its certificate.
    """
    if trust.get("format") != TRUST_LIST_FORMAT:
        raise JwksError(f"not a {TRUST_LIST_FORMAT} trust list")
    issuer = _issuer(trust)
    signers = trust.get("signers")
    if not isinstance(signers, list):
        raise JwksError("the trust list has no signers list")
    keys = []
    for entry in signers:
        if not isinstance(entry, dict):
            raise JwksError("a signer entry is not an object")
        jwk = _signer_jwk(entry, issuer)
        if jwk is not None:
            keys.append(jwk)
    return {"keys": keys}


def _merge(jwks_list: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One JWKS from several; the same key listed twice appears once."""
    by_kid: dict[str, dict[str, Any]] = {}
    for jwks in jwks_list:
        for key in jwks["keys"]:
            known = by_kid.setdefault(key["kid"], key)
            # A key id is a certificate digest, so a clash means the same certificate named
            # by two bodies (or with two validities): refuse rather than pick one.
            if known != key:
                raise JwksError(f"key {key['kid']} is listed twice with different details")
    return {"keys": list(by_kid.values())}


def jwks_from_trust_files(paths: Iterable[Path | str]) -> dict[str, Any]:
    """The merged JWKS of the trust lists at ``paths`` (one per issuing body).

    Raises:
        JwksError: a file is unreadable or not a trust list, or two lists disagree on a key.
    """
    parts = []
    for path in paths:
        try:
            trust = json.loads(Path(path).read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise JwksError(f"{path}: cannot read trust list ({exc})") from exc
        if not isinstance(trust, dict):
            raise JwksError(f"{path}: not a trust list")
        try:
            parts.append(jwks_from_trust(trust))
        except JwksError as exc:
            raise JwksError(f"{path}: {exc}") from exc
    return _merge(parts)
