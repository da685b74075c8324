"""Finding certificate versions by number, GB/T 36904 identifier or QR text."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from ..identifiers import LICENCE_ROOT, parse_licence_identifier
from ..qrpayload import PREFIX, PayloadError, read_claims
from .errors import NotFoundError
from .models import CertificateRow
from .status import StatusAnswer, answer

if TYPE_CHECKING:
    from .store import Registry

__all__ = [
    "by_identifier",
    "current_version",
    "find",
    "registered_photo",
    "status_of",
    "version_of",
]


def current_version(session: Session, number: str) -> CertificateRow | None:
    """The newest version of the certificate numbered ``number``."""
    return (
        session.scalars(
            select(CertificateRow)
            .where(CertificateRow.number == number.strip().upper())
            .options(joinedload(CertificateRow.changes))
            .order_by(CertificateRow.version.desc())
            .limit(1)
        )
        .unique()
        .first()
    )


def find(session: Session, query: str) -> CertificateRow:
    """The version ``query`` names: a QR text or an identifier names one version exactly,
    a number its newest version.

    Raises:
        NotFoundError: nothing answers, or the query is malformed (says how).
    """
    text = query.strip()
    if text.startswith(PREFIX):
        try:
            claims = read_claims(text)
        except PayloadError as exc:
            raise NotFoundError(f"the QR text is not readable: {exc}") from exc
        row = version_of(session, claims.number, claims.version)
        what = f"{claims.number} version {claims.version} (from the QR)"
    elif text.startswith(LICENCE_ROOT + "."):
        try:
            parse_licence_identifier(text)
        except ValueError as exc:
            raise NotFoundError(f"{text}: not a valid GB/T 36904 identifier ({exc})") from exc
        row = by_identifier(session, text)
        what = text
    else:
        if not text or not text.isascii() or not text.replace("-", "").isalnum():
            raise NotFoundError(
                f"{query!r} is not a certificate number, a GB/T 36904 identifier or a QR text"
            )
        row = current_version(session, text)
        what = text.upper()
    if row is None:
        raise NotFoundError(f"{what}: no such certificate in the registry")
    return row


def status_of(session: Session, query: str, at: datetime) -> StatusAnswer:
    """The status at ``at`` of the version ``query`` names (see :func:`find`).

    Raises:
        NotFoundError: nothing answers, or the query is malformed.
    """
    return answer(find(session, query), at)


def version_of(session: Session, number: str, version: int) -> CertificateRow | None:
    """Version ``version`` of the certificate numbered ``number``, if registered (with its
    state changes, in the same query)."""
    return (
        session.scalars(
            select(CertificateRow)
            .where(CertificateRow.number == number, CertificateRow.version == version)
            .options(joinedload(CertificateRow.changes))
        )
        .unique()
        .first()
    )


def by_identifier(session: Session, identifier: str) -> CertificateRow | None:
    """The certificate version with GB/T 36904 identifier ``identifier``, if registered."""
    return session.scalars(
        select(CertificateRow)
        .where(CertificateRow.identifier == identifier)
        .options(selectinload(CertificateRow.changes))
    ).first()


def registered_photo(registry: Registry, number: str, version: int) -> str | None:
    """The holder's photo as registered with that certificate version (a ``data:`` URI), for
    a verifier to compare with the paper; None if the registry has no such record."""
    with registry.reading() as session:
        row = version_of(session, number, version)
        if row is None or row.record is None:
            return None
        record = registry.key.open(row.record, row.identifier)
    photo = record.get("photo")
    return photo if isinstance(photo, str) and photo.startswith("data:image/") else None
