"""Build an issuing body's status list from the registry (signing is the caller's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..clock import BEIJING
from ..statuslist import Code, Entry, StatusList, pack_codes
from .audit import HEAD_KEY
from .errors import NotFoundError
from .models import CertificateRow, IssuingBody, MetaItem
from .status import Status, answer

__all__ = ["build_status_list"]


def build_status_list(
    session: Session, issuer_code: str, at: datetime, next_update: datetime
) -> StatusList:
    """The status of every certificate version of ``issuer_code`` at ``at``.

    Raises:
        NotFoundError: the registry knows no such issuing body.
    """
    body = session.scalars(select(IssuingBody).where(IssuingBody.code == issuer_code)).first()
    if body is None:
        raise NotFoundError(f"the registry holds no certificate of issuing body {issuer_code}")
    codes = [Code.UNUSED] * body.next_status_index
    details: dict[int, Entry] = {}
    rows = session.scalars(
        select(CertificateRow)
        .where(CertificateRow.issuer_id == body.id, CertificateRow.status_index.is_not(None))
        .options(selectinload(CertificateRow.changes), selectinload(CertificateRow.superseded_by))
    )
    for row in rows:
        index = row.status_index
        assert index is not None
        status = answer(row, at)
        since = (status.since or at).astimezone(BEIJING).date()
        if status.status is Status.REVOKED:
            codes[index] = Code.REVOKED
            details[index] = Entry(Code.REVOKED, since, status.reason or "")
        elif status.status is Status.SUPERSEDED:
            codes[index] = Code.SUPERSEDED
            details[index] = Entry(
                Code.SUPERSEDED, since, status.reason or "", status.superseded_by or ""
            )
        elif status.status is not Status.NOT_ISSUED:
            codes[index] = Code.VALID
    head = session.get(MetaItem, HEAD_KEY)
    return StatusList(
        issuer_code=issuer_code,
        issued=at,
        next_update=next_update,
        size=len(codes),
        codes=pack_codes(codes),
        details=details,
        audit_head=head.value if head is not None else "",
    )
