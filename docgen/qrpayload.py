"""The signed QR payload: schema, packing and verification (shared by issuer and verifier).

Text in the QR: ``EC1:`` + base45( zlib( COSE_Sign1 ) ) — zlib only when it makes the data
smaller (a zlib stream starts 0x78, a COSE_Sign1 0xD2, so the reader can tell). The COSE
protected header carries the algorithm (ES256) and the signer's key id (SHA-256 of its
certificate, first 8 bytes); the payload is a CBOR map with the integer labels of
:class:`Claim`. A generic scanner sees only the opaque string; of the ID number only the
first 6 and last 4 characters are carried. The issuer is not a claim: the key id names
the signer, and the signer's certificate names the body (organizationIdentifier).
The alphabet of base45 is QR's alphanumeric mode; typical payloads are 215-235
characters, QR version 10-11 at error correction Q.

An annotated copy (加注) carries a second payload of the same form: :class:`AnnotationClaims`,
told apart by its ``ANNOTATION`` claim. It names the certificate (kind, number, version) and
states the annotation number, scenario and window; the certificate's own claims stay in the
certificate's QR.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum
from functools import lru_cache
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cwt import COSE, COSEKey
from cwt.exceptions import CWTError

__all__ = [
    "ALG_ES256",
    "KIND_CODES",
    "MAX_TEXT",
    "PREFIX",
    "AnnotationClaims",
    "Claim",
    "PayloadError",
    "QRClaims",
    "id_hint",
    "is_annotation",
    "masked",
    "pack",
    "payload_kid",
    "read_claims",
    "unpack",
    "verify_annotation",
    "verify_payload",
    "verify_sign1",
]

#: Prefix of our QR texts (format version 1).
PREFIX = "EC1:"
#: COSE algorithm of the payload signature (ECDSA P-256 with SHA-256).
ALG_ES256 = -7
_HEADER_ALG = 1
_HEADER_KID = 4
_COSE_SIGN1_TAG = 18
_MAX_PAYLOAD = 4096
#: The longest text a QR code holds in its alphanumeric mode (version 40, error correction
#: L); ours are 215-235 characters. A longer "QR text" is refused before it is decoded.
MAX_TEXT = 4296
_EPOCH = date(1970, 1, 1)


class Claim(IntEnum):
    """CBOR labels of the payload claims."""

    KIND = 1  # a KIND_CODES value
    NUMBER = 2
    VERSION = 3
    HOLDER = 4
    ID_HINT = 5  # first 6 + last 4 characters of the ID number
    ISSUED = 6  # days since 1970-01-01
    VALID_FROM = 7
    VALID_TO = 8
    REVIEW = 9  # 应复审日期, for kinds that have one
    STATUS_INDEX = 10  # the certificate's entry in its issuer's signed status list
    ANNOTATION = 11  # 加注 number; present only in an annotation payload
    SCENARIO = 12  # 加注 use scenario, e.g. 本人调用
    WINDOW_FROM = 13  # first day the annotated copy is good for (days since 1970-01-01)
    WINDOW_TO = 14  # last day, included


#: Certificate kinds by their code in the payload (stable: printed codes never change).
KIND_CODES = {"rescuer": 1, "skill": 2, "safety-engineer": 3, "special-ops": 4, "safety-manager": 5}
_KINDS_BY_CODE = {code: name for name, code in KIND_CODES.items()}


class PayloadError(ValueError):
    """A QR text is not one of our payloads, is damaged, or its signature does not verify."""


def _claims_map(data: bytes) -> dict[Any, Any]:
    try:
        raw = cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise PayloadError(f"claims are not CBOR ({exc})") from exc
    if not isinstance(raw, dict):
        raise PayloadError("claims are not a CBOR map")
    return raw


def _text(raw: dict[Any, Any], label: Claim) -> str:
    value = raw.get(int(label))
    if not isinstance(value, str):
        raise PayloadError(f"claim {label.name.lower()} missing or not text")
    return value


def _whole(raw: dict[Any, Any], label: Claim) -> int | None:
    value = raw.get(int(label))
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise PayloadError(f"claim {label.name.lower()} is not a whole number")
    return value


def _day(raw: dict[Any, Any], label: Claim, required: bool = True) -> date | None:
    value = raw.get(int(label))
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadError(f"claim {label.name.lower()} missing or not a day number")
    try:
        return _EPOCH + timedelta(days=value)
    except OverflowError as exc:
        raise PayloadError(f"claim {label.name.lower()} is out of range") from exc


def _kind(raw: dict[Any, Any]) -> str:
    code = raw.get(int(Claim.KIND))
    kind = _KINDS_BY_CODE.get(code) if isinstance(code, int) else None
    if kind is None:
        raise PayloadError(f"unknown kind code {code!r}")
    return kind


def _version(raw: dict[Any, Any]) -> int:
    version = _whole(raw, Claim.VERSION)
    if version is None:
        raise PayloadError("claim version missing or not an integer")
    return version


@dataclass(frozen=True)
class QRClaims:
    """What the QR of a certificate states, signed."""

    kind: str
    number: str
    version: int
    holder: str
    id_hint: str
    issued: date
    valid_from: date | None = None
    valid_to: date | None = None
    review: date | None = None
    status_index: int | None = None

    def to_cbor(self) -> bytes:
        """The CBOR map of the claims (deterministic: integer keys in order)."""
        data: dict[int, Any] = {
            Claim.KIND: KIND_CODES[self.kind],
            Claim.NUMBER: self.number,
            Claim.VERSION: self.version,
            Claim.HOLDER: self.holder,
            Claim.ID_HINT: self.id_hint,
            Claim.ISSUED: (self.issued - _EPOCH).days,
        }
        if self.valid_from is not None:
            data[Claim.VALID_FROM] = (self.valid_from - _EPOCH).days
        if self.valid_to is not None:
            data[Claim.VALID_TO] = (self.valid_to - _EPOCH).days
        if self.review is not None:
            data[Claim.REVIEW] = (self.review - _EPOCH).days
        if self.status_index is not None:
            data[Claim.STATUS_INDEX] = self.status_index
        return bytes(cbor2.dumps({int(k): v for k, v in data.items()}, canonical=True))

    @classmethod
    def from_cbor(cls, data: bytes) -> QRClaims:
        """Parse a claims map.

        Raises:
            PayloadError: not a map, an annotation's claims, or a claim is missing or has
                the wrong type.
        """
        raw = _claims_map(data)
        if int(Claim.ANNOTATION) in raw:
            raise PayloadError("an annotation (加注) payload, not a certificate's")
        issued = _day(raw, Claim.ISSUED)
        assert issued is not None
        index = _whole(raw, Claim.STATUS_INDEX)
        if index is not None and index < 0:
            raise PayloadError("claim status_index is not a whole number")
        return cls(
            kind=_kind(raw),
            number=_text(raw, Claim.NUMBER),
            version=_version(raw),
            holder=_text(raw, Claim.HOLDER),
            id_hint=_text(raw, Claim.ID_HINT),
            issued=issued,
            valid_from=_day(raw, Claim.VALID_FROM, required=False),
            valid_to=_day(raw, Claim.VALID_TO, required=False),
            review=_day(raw, Claim.REVIEW, required=False),
            status_index=index,
        )


@dataclass(frozen=True)
class AnnotationClaims:
    """What the QR of an annotated copy (加注) states, signed: which certificate version it
    annotates, the annotation number, the use scenario and the window (both days included)."""

    kind: str
    number: str
    version: int
    annotation: str
    scenario: str
    valid_from: date
    valid_to: date

    def to_cbor(self) -> bytes:
        """The CBOR map of the claims (deterministic: integer keys in order)."""
        data = {
            Claim.KIND: KIND_CODES[self.kind],
            Claim.NUMBER: self.number,
            Claim.VERSION: self.version,
            Claim.ANNOTATION: self.annotation,
            Claim.SCENARIO: self.scenario,
            Claim.WINDOW_FROM: (self.valid_from - _EPOCH).days,
            Claim.WINDOW_TO: (self.valid_to - _EPOCH).days,
        }
        return bytes(cbor2.dumps({int(k): v for k, v in data.items()}, canonical=True))

    @classmethod
    def from_cbor(cls, data: bytes) -> AnnotationClaims:
        """Parse an annotation's claims map.

        Raises:
            PayloadError: not a map, a certificate's claims, or a claim is missing or has
                the wrong type.
        """
        raw = _claims_map(data)
        if int(Claim.ANNOTATION) not in raw:
            raise PayloadError("a certificate's payload, not an annotation (加注)")
        valid_from, valid_to = _day(raw, Claim.WINDOW_FROM), _day(raw, Claim.WINDOW_TO)
        assert valid_from is not None and valid_to is not None
        if valid_to < valid_from:
            raise PayloadError("the annotation window ends before it starts")
        return cls(
            kind=_kind(raw),
            number=_text(raw, Claim.NUMBER),
            version=_version(raw),
            annotation=_text(raw, Claim.ANNOTATION),
            scenario=_text(raw, Claim.SCENARIO),
            valid_from=valid_from,
            valid_to=valid_to,
        )


def is_annotation(text: str) -> bool:
    """Whether a QR text holds an annotation's payload (its signature not checked).

    Raises:
        PayloadError: not one of our payloads, or damaged.
    """
    return int(Claim.ANNOTATION) in _claims_map(_sign1(unpack(text))[1])


def id_hint(number: str) -> str:
    """What the payload keeps of an ID number: its first 6 and last 4 characters."""
    return number[:6] + number[-4:] if len(number) > 10 else number[:2] + number[-2:]


def masked(number_or_hint: str, length: int = 18) -> str:
    """How a hint is shown: ``110105********1017`` (hidden characters as ``*``)."""
    head, tail = (
        (number_or_hint[:6], number_or_hint[-4:])
        if len(number_or_hint) >= 10
        else (number_or_hint[:2], number_or_hint[-2:])
    )
    return head + "*" * max(0, length - len(head) - len(tail)) + tail


def pack(cose: bytes) -> str:
    """QR text for a COSE_Sign1 message."""
    compressed = zlib.compress(cose, 9)
    body = compressed if len(compressed) < len(cose) else cose
    encoded: bytes = base45.b45encode(body)
    return PREFIX + encoded.decode("ascii")


def unpack(text: str) -> bytes:
    """The COSE_Sign1 bytes inside a QR text.

    Raises:
        PayloadError: wrong prefix, longer than a QR code holds, not base45, or a damaged,
            cut, oversized or trailed zlib stream.
    """
    text = text.strip()
    if not text.startswith(PREFIX):
        raise PayloadError(f"not a docgen certificate code (no {PREFIX} prefix)")
    if len(text) > MAX_TEXT:
        raise PayloadError(
            f"{len(text)} characters: longer than a QR code holds (at most {MAX_TEXT})"
        )
    try:
        body = base45.b45decode(text[len(PREFIX) :])
    except ValueError as exc:
        raise PayloadError(f"not base45 ({exc})") from exc
    if body[:1] == b"\x78":
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, _MAX_PAYLOAD)
        except zlib.error as exc:
            raise PayloadError(f"damaged compressed payload ({exc})") from exc
        if inflater.unconsumed_tail:
            raise PayloadError(f"payload larger than {_MAX_PAYLOAD} bytes")
        if not inflater.eof:
            raise PayloadError("damaged compressed payload (cut short)")
        if inflater.unused_data:  # the same payload under another text: not what was made
            raise PayloadError("bytes after the compressed payload")
    return bytes(body)


def _sign1(cose: bytes) -> tuple[dict[Any, Any], bytes]:
    """The protected header map and the payload of a COSE_Sign1 message (not verified)."""
    try:
        stream = io.BytesIO(cose)
        message = cbor2.CBORDecoder(stream).decode()
        if stream.tell() != len(cose):
            raise PayloadError("bytes after it")
        if isinstance(message, cbor2.CBORTag):
            if message.tag != _COSE_SIGN1_TAG:
                raise PayloadError(f"CBOR tag {message.tag} is not COSE_Sign1")
            message = message.value
        shapes = (bytes, dict, bytes, bytes)  # protected, unprotected, payload, signature
        if not isinstance(message, list) or len(message) != len(shapes):
            raise PayloadError("not a COSE_Sign1 message (not an array of four parts)")
        if not all(isinstance(part, shape) for part, shape in zip(message, shapes, strict=True)):
            raise PayloadError("not a COSE_Sign1 message (a part of the wrong type)")
        protected = cbor2.loads(message[0]) if message[0] else {}
        payload = message[2]
    except (cbor2.CBORDecodeError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise PayloadError(f"not a COSE_Sign1 message ({exc})") from exc
    if not isinstance(protected, dict):
        raise PayloadError("not a COSE_Sign1 message (bad protected header)")
    return protected, payload


def payload_kid(cose: bytes) -> bytes:
    """The key id in the protected header of a COSE_Sign1 message.

    Raises:
        PayloadError: not a COSE_Sign1 message, or no key id.
    """
    kid = _sign1(cose)[0].get(_HEADER_KID)
    if not isinstance(kid, bytes):
        raise PayloadError("no key id in the protected header")
    return kid


def read_claims(text: str) -> QRClaims:
    """The claims of a QR text **without** checking its signature: to look a certificate
    up (the registry answers), never to vouch for it.

    Raises:
        PayloadError: not one of our payloads, or damaged.
    """
    return QRClaims.from_cbor(_sign1(unpack(text))[1])


@lru_cache(maxsize=64)
def _cose_key(der: bytes, kid: bytes) -> Any:
    """The COSE key of a signer certificate (made once per certificate)."""
    pem = x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    return COSEKey.from_pem(pem, alg="ES256", kid=kid)


def verify_sign1(cose: bytes, certificates: Mapping[bytes, bytes]) -> tuple[bytes, bytes]:
    """Check a COSE_Sign1 message (ES256) against signer certificates (DER) by key id;
    returns the payload and the key id.

    Raises:
        PayloadError: malformed, unknown key id, or the signature does not verify.
    """
    kid = payload_kid(cose)
    alg = _sign1(cose)[0].get(_HEADER_ALG)
    if alg != ALG_ES256:
        # cwt checks the signature with the key's algorithm, whatever the header says: the
        # header must say ES256 too, or it would sign one thing and claim another
        raise PayloadError(f"the protected header names algorithm {alg!r}, not ES256 (-7)")
    der = certificates.get(kid)
    if der is None:
        raise PayloadError(f"key id {kid.hex()} is not in the trust list")
    key = _cose_key(der, kid)
    try:
        payload = COSE.new().decode(cose, key)
    except (CWTError, ValueError, TypeError) as exc:
        raise PayloadError(f"signature does not verify ({exc})") from exc
    return bytes(payload), kid


def verify_annotation(
    text: str, certificates: Mapping[bytes, bytes]
) -> tuple[AnnotationClaims, bytes]:
    """Check an annotation's QR text against signer certificates (DER) by key id; returns
    its claims and the key id.

    Raises:
        PayloadError: malformed, a certificate's payload, unknown key id, or the signature
            does not verify.
    """
    payload, kid = verify_sign1(unpack(text), certificates)
    return AnnotationClaims.from_cbor(payload), kid


def verify_payload(text: str, certificates: Mapping[bytes, bytes]) -> tuple[QRClaims, bytes]:
    """Check a QR text against signer certificates (DER) by key id; returns claims and kid.

    Raises:
        PayloadError: malformed, unknown key id, or the signature does not verify.
    """
    payload, kid = verify_sign1(unpack(text), certificates)
    return QRClaims.from_cbor(payload), kid
