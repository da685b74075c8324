"""Signed status lists: an issuing body's answer about all its certificates, offline.

The idea of a CRL and of the W3C Bitstring Status List: every certificate version has an
index in its issuer's list (carried in its signed QR payload, claim ``status_index``); the
list holds two bits per index (0 valid, 1 revoked, 2 superseded, 3 not in use) and, for
the few entries that are not valid, the day and reason (or the superseding version). It
is a COSE_Sign1 message (ES256) signed by the issuer's current QR signer, with an issue
time and a next-update time after which it is stale, and the registry's audit-chain head
at the time it was made. Format code only: signing is :mod:`docgen.signing.statuslist`,
building is :mod:`docgen.registry.statuslist`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum
from typing import Any

import cbor2

from ..clock import BEIJING
from ..qrpayload import PayloadError, verify_sign1

__all__ = [
    "FORMAT",
    "Code",
    "Entry",
    "StatusList",
    "StatusListError",
    "pack_codes",
    "verify_status_list",
]

#: Format name inside the signed payload.
FORMAT = "docgen-status-list/1"
_BITS = 2
_MAX_ENTRIES = 1 << 24
_MAX_INFLATED = (_MAX_ENTRIES * _BITS) // 8


class StatusListError(ValueError):
    """A status list is damaged, wrongly signed, stale, or does not cover a certificate."""


class Code(IntEnum):
    """The two-bit status of one entry."""

    VALID = 0
    REVOKED = 1
    SUPERSEDED = 2
    UNUSED = 3


class _Label(IntEnum):
    FORMAT = 1
    ISSUER = 2
    ISSUED = 3
    NEXT_UPDATE = 4
    SIZE = 5
    CODES = 6
    DETAILS = 7
    AUDIT_HEAD = 8


@dataclass(frozen=True)
class Entry:
    """Why an entry is not valid: since when, why, and for a superseded one, by what."""

    code: Code
    since: date
    reason: str = ""
    by: str = ""


def pack_codes(codes: list[Code]) -> bytes:
    """Two bits per entry, entry 0 in the low bits of byte 0, zlib-compressed."""
    raw = bytearray((len(codes) * _BITS + 7) // 8)
    for index, code in enumerate(codes):
        raw[index // 4] |= int(code) << ((index % 4) * _BITS)
    return zlib.compress(bytes(raw), 9)


@dataclass(frozen=True)
class StatusList:
    """One issuing body's status list."""

    issuer_code: str
    issued: datetime
    next_update: datetime
    size: int
    codes: bytes  # as made by :func:`pack_codes`
    details: Mapping[int, Entry] = field(default_factory=dict)
    audit_head: str = ""

    def code(self, index: int) -> Code:
        """The code of entry ``index``.

        Raises:
            StatusListError: the list has no such entry (it predates the certificate).
        """
        if not 0 <= index < self.size:
            raise StatusListError(
                f"the list (issued {_shown(self.issued)}) has {self.size} entries and "
                f"does not cover entry {index}: it is older than the certificate"
            )
        raw = _inflate(self.codes)
        return Code((raw[index // 4] >> ((index % 4) * _BITS)) & 0b11)

    def to_cbor(self) -> bytes:
        """The payload: a CBOR map with integer labels (deterministic)."""
        details = {
            i: [int(e.code), (e.since - date(1970, 1, 1)).days, e.reason, e.by]
            for i, e in sorted(self.details.items())
        }
        data: dict[int, Any] = {
            _Label.FORMAT: FORMAT,
            _Label.ISSUER: self.issuer_code,
            _Label.ISSUED: int(self.issued.timestamp()),
            _Label.NEXT_UPDATE: int(self.next_update.timestamp()),
            _Label.SIZE: self.size,
            _Label.CODES: self.codes,
            _Label.DETAILS: details,
            _Label.AUDIT_HEAD: self.audit_head,
        }
        return bytes(cbor2.dumps({int(k): v for k, v in data.items()}, canonical=True))

    @classmethod
    def from_cbor(cls, data: bytes) -> StatusList:
        """Parse a payload.

        Raises:
            StatusListError: not a status list, or a field has the wrong type.
        """
        try:
            raw = cbor2.loads(data)
            if not isinstance(raw, dict) or raw.get(_Label.FORMAT) != FORMAT:
                raise StatusListError(f"not a {FORMAT} payload")
            details = {
                int(i): Entry(
                    Code(v[0]),
                    date.fromordinal(date(1970, 1, 1).toordinal() + v[1]),
                    str(v[2]),
                    str(v[3]),
                )
                for i, v in raw[_Label.DETAILS].items()
            }
            size = int(raw[_Label.SIZE])
            codes = raw[_Label.CODES]
            if not isinstance(codes, bytes) or not 0 <= size <= _MAX_ENTRIES:
                raise StatusListError("malformed entries")
            return cls(
                issuer_code=str(raw[_Label.ISSUER]),
                issued=datetime.fromtimestamp(int(raw[_Label.ISSUED]), UTC),
                next_update=datetime.fromtimestamp(int(raw[_Label.NEXT_UPDATE]), UTC),
                size=size,
                codes=codes,
                details=details,
                audit_head=str(raw.get(_Label.AUDIT_HEAD, "")),
            )
        except StatusListError:
            raise
        except (
            cbor2.CBORDecodeError,
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            OverflowError,
        ) as exc:
            raise StatusListError(f"malformed status list ({exc})") from exc


def _inflate(codes: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(codes, _MAX_INFLATED)
    except zlib.error as exc:
        raise StatusListError(f"damaged entries ({exc})") from exc
    if inflater.unconsumed_tail:
        raise StatusListError("entries larger than the format allows")
    return raw


def _shown(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def verify_status_list(
    data: bytes, certificates: Mapping[bytes, bytes], at: datetime
) -> tuple[StatusList, bytes]:
    """Check a status list file against the QR signers (key id → certificate DER) and its
    freshness at ``at``; returns the list and the key id that signed it.

    Raises:
        StatusListError: damaged, signed by an unknown key, wrongly signed, issued after
            ``at`` or stale (past its next update).
    """
    try:
        payload, kid = verify_sign1(data, certificates)
    except PayloadError as exc:
        raise StatusListError(f"the status list's signature is not trusted: {exc}") from exc
    status_list = StatusList.from_cbor(payload)
    if at < status_list.issued:
        raise StatusListError(
            f"the status list was issued {_shown(status_list.issued)}, after the checked "
            f"time {_shown(at)}"
        )
    if at > status_list.next_update:
        raise StatusListError(
            f"the status list is stale: its next update was due "
            f"{_shown(status_list.next_update)} (checked {_shown(at)})"
        )
    _inflate(status_list.codes)  # damaged entries are found now, not at the first look-up
    return status_list, kid
