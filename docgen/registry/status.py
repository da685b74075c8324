"""A certificate's status at a given time, from its registry row and its state changes.

The stored states are ``active``, ``revoked`` and ``superseded``; expired, review overdue
and not yet valid follow from the dates and the day asked about; ``legacy`` marks an
old-style certificate registered without a file (looked up by number only).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ..clock import BEIJING
from .models import CertificateRow, StatusChange

__all__ = ["State", "Status", "StatusAnswer", "answer", "set_state"]


class State(StrEnum):
    """What the registry stores about a certificate version."""

    ACTIVE = "active"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class Status(StrEnum):
    """The answer to "what is this certificate's status on that day?"."""

    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    REVIEW_OVERDUE = "review_overdue"
    NOT_YET_VALID = "not_yet_valid"
    LEGACY = "legacy"
    NOT_ISSUED = "not_issued"


_TEXT = {
    Status.VALID: "有效 valid",
    Status.REVOKED: "已撤销 revoked",
    Status.SUPERSEDED: "已被替代 superseded",
    Status.EXPIRED: "已过期 expired",
    Status.REVIEW_OVERDUE: "逾期未复审 review overdue",
    Status.NOT_YET_VALID: "尚未生效 not yet valid",
    Status.LEGACY: "旧版证书记录 legacy record (no electronic file; check by number)",
    Status.NOT_ISSUED: "尚未签发 not issued at that time",
}


@dataclass(frozen=True)
class StatusAnswer:
    """A certificate version's status on ``day``, with what may be shown about it."""

    status: Status
    day: date
    number: str
    version: int
    identifier: str
    kind: str
    holder: str
    id_masked: str
    issuer: str
    issue_date: date
    valid_to: date | None = None
    review_date: date | None = None
    since: datetime | None = None
    reason: str | None = None
    superseded_by: str | None = None
    legacy: bool = False

    @property
    def valid(self) -> bool:
        """True when the certificate is in force on ``day`` (a legacy record counts)."""
        return self.status in (Status.VALID, Status.LEGACY)

    def sentence(self) -> str:
        """One line for a person, e.g. ``revoked on 2026-11-21: 伪造材料``."""
        text = _TEXT[self.status]
        if self.status is Status.REVOKED and self.since is not None:
            since = self.since.astimezone(BEIJING).date().isoformat()
            text += f" on {since}: {self.reason or 'no reason given'}"
        elif self.status is Status.SUPERSEDED:
            text += f" by {self.superseded_by}"
        elif self.status is Status.EXPIRED and self.valid_to is not None:
            text += f" since {self.valid_to.isoformat()} (last valid day)"
        elif self.status is Status.REVIEW_OVERDUE and self.review_date is not None:
            text += f": 应复审日期 {self.review_date.isoformat()} has passed"
        elif self.status is Status.VALID and self.valid_to is not None:
            text += f" until {self.valid_to.isoformat()}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for ``--json`` and the API)."""
        out: dict[str, Any] = {
            "status": self.status.value,
            "valid": self.valid,
            "day": self.day.isoformat(),
            "summary": self.sentence(),
            "number": self.number,
            "version": self.version,
            "identifier": self.identifier,
            "kind": self.kind,
            "holder": self.holder,
            "id_number": self.id_masked,
            "issuer": self.issuer,
            "issue_date": self.issue_date.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "review_date": self.review_date.isoformat() if self.review_date else None,
            "since": self.since.isoformat() if self.since else None,
            "reason": self.reason,
            "superseded_by": self.superseded_by,
            "legacy": self.legacy,
        }
        return out


def answer(row: CertificateRow, at: datetime) -> StatusAnswer:
    """The status of ``row`` at ``at``: its last state change up to then, then its dates."""
    day = at.astimezone(BEIJING).date()
    plain = StatusAnswer(
        Status.NOT_ISSUED,
        day=day,
        number=row.number,
        version=row.version,
        identifier=row.identifier,
        kind=row.kind,
        holder=row.holder_name,
        id_masked=row.id_masked,
        issuer=row.issuer.name,
        issue_date=row.issue_date,
        valid_to=row.valid_to,
        review_date=row.review_date,
        legacy=row.legacy,
    )
    changes = [c for c in row.changes if c.at <= at]
    if not changes:
        return plain
    last = changes[-1]
    if last.state == State.REVOKED:
        return replace(plain, status=Status.REVOKED, since=last.at, reason=last.reason)
    if last.state == State.SUPERSEDED:
        successor = row.superseded_by
        by = f"version {successor.version} ({successor.identifier})" if successor else "?"
        return replace(
            plain, status=Status.SUPERSEDED, since=last.at, reason=last.reason, superseded_by=by
        )
    status = Status.LEGACY if row.legacy else Status.VALID
    if row.valid_to is not None and day > row.valid_to:
        status = Status.EXPIRED
    elif row.review_date is not None and day > row.review_date:
        status = Status.REVIEW_OVERDUE
    elif row.valid_from is not None and day < row.valid_from and row.related_identifier is None:
        # a later version takes over at once: after an early 复审 its printed validity starts
        # at the old 应复审日期, and until then the holder is covered without a gap
        status = Status.NOT_YET_VALID
    return replace(plain, status=status, since=last.at)


def set_state(
    row: CertificateRow,
    state: State,
    *,
    at: datetime,
    action: str,
    reason: str | None,
    operator: str,
) -> None:
    """Put ``row`` in ``state`` from ``at`` on, recording the change (who, why, by what)."""
    row.state = state
    row.changes.append(
        StatusChange(at=at, action=action, state=state, reason=reason, operator=operator)
    )
