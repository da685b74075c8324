"""The append-only audit log: every row is chained to the one before by SHA-256.

A row's hash covers its own fields and the previous row's hash, and the chain's head (last
id and hash) is kept in ``registry_meta`` in the same transaction. Editing, deleting or
inserting a row breaks the chain at that row; cutting rows off the end no longer matches
the head. Appends lock the head row, so concurrent writers cannot fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .models import AuditEntry, MetaItem

__all__ = [
    "GENESIS",
    "HEAD_KEY",
    "AuditCheck",
    "append",
    "append_many",
    "entry_hash",
    "lock_head",
    "verify_chain",
]

#: The "previous hash" of the first row.
GENESIS = "0" * 64
#: ``registry_meta`` key of the chain head, ``"<id>:<hash>"``.
HEAD_KEY = "audit_head"
# session.info key: the transaction that holds the head's lock, and the head row.
_HELD = "docgen.audit_head"


def entry_hash(
    entry_id: int,
    at: datetime,
    operator: str,
    action: str,
    subject: str,
    reason: str | None,
    detail: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of one row's fields and the previous row's hash, canonically encoded."""
    fields = [
        entry_id,
        at.astimezone(UTC).isoformat(),
        operator,
        action,
        subject,
        reason,
        detail,
        prev_hash,
    ]
    encoded = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def lock_head(session: Session) -> MetaItem:
    """Lock the chain's head row for the rest of the transaction and return it: taken first
    by every write transaction, so writers run one at a time (on SQLite the transaction
    already holds the write lock). Locked once per transaction: later appends in the same
    transaction reuse the row (a second ``SELECT … FOR UPDATE`` would also flush the
    session each time).

    Raises:
        RuntimeError: the registry has no head row (its schema was not made by migration).
    """
    transaction = session.get_transaction()
    held = session.info.get(_HELD)
    if held is not None and held[0] is transaction:
        head: MetaItem = held[1]
        return head
    found = session.get(MetaItem, HEAD_KEY, with_for_update=True)
    if found is None:
        raise RuntimeError("registry_meta has no audit_head row")
    session.info[_HELD] = (session.get_transaction(), found)
    return found


def _next(
    session: Session,
    *,
    at: datetime,
    operator: str,
    action: str,
    subject: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The values of the chain's next row; the head is moved to it."""
    head = lock_head(session)
    last_id, _, prev_hash = head.value.partition(":")
    entry_id = int(last_id) + 1
    text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = entry_hash(entry_id, at, operator, action, subject, reason, text, prev_hash)
    head.value = f"{entry_id}:{digest}"
    return {
        "id": entry_id,
        "at": at,
        "operator": operator,
        "action": action,
        "subject": subject,
        "reason": reason,
        "detail": text,
        "prev_hash": prev_hash,
        "hash": digest,
    }


def append(
    session: Session,
    *,
    at: datetime,
    operator: str,
    action: str,
    subject: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add a row at the end of the chain (in the caller's transaction) and return it."""
    entry = AuditEntry(
        **_next(
            session,
            at=at,
            operator=operator,
            action=action,
            subject=subject,
            reason=reason,
            detail=detail,
        )
    )
    session.add(entry)
    return entry


def append_many(session: Session, entries: Sequence[Mapping[str, Any]]) -> None:
    """Add rows at the end of the chain in this order, in one statement: what as many
    :func:`append` calls would add (each of ``entries`` holds their keyword arguments),
    without an object per row."""
    rows = [_next(session, **entry) for entry in entries]
    if rows:
        session.execute(insert(AuditEntry), rows)


@dataclass(frozen=True)
class AuditCheck:
    """The outcome of :func:`verify_chain`."""

    rows: int
    head: str
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when every row and the head agree."""
        return self.broken_id is None and not self.reason


def verify_chain(session: Session) -> AuditCheck:
    """Recompute the chain row by row; names the first row that does not fit."""
    prev_id, prev_hash, rows = 0, GENESIS, 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        rows += 1
        if entry.id != prev_id + 1:
            return AuditCheck(rows, prev_hash, entry.id, f"row {prev_id + 1} is missing")
        if entry.prev_hash != prev_hash:
            return AuditCheck(rows, prev_hash, entry.id, "does not follow the row before")
        expected = entry_hash(
            entry.id,
            entry.at,
            entry.operator,
            entry.action,
            entry.subject,
            entry.reason,
            entry.detail,
            entry.prev_hash,
        )
        if expected != entry.hash:
            return AuditCheck(rows, prev_hash, entry.id, "its content was changed")
        prev_id, prev_hash = entry.id, entry.hash
    head = session.get(MetaItem, HEAD_KEY)
    recorded = head.value if head is not None else f"0:{GENESIS}"
    if recorded != f"{prev_id}:{prev_hash}":
        return AuditCheck(
            rows,
            prev_hash,
            None,
            f"the chain ends at row {prev_id} but the recorded head is row "
            f"{recorded.partition(':')[0]}: rows were removed from the end",
        )
    return AuditCheck(rows, prev_hash)
