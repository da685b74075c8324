"""The registry's tables as typed SQLAlchemy 2 models.

Times are stored as UTC (naive in the database, aware in Python, see :class:`UTCDateTime`),
so SQLite and PostgreSQL read back the same values. The schema itself is made by the
Alembic migrations in ``migrations/``; these models must agree with them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AnnotationRow",
    "ApiKey",
    "AuditEntry",
    "Base",
    "BatchItem",
    "BatchRow",
    "CertificateRow",
    "FileIntent",
    "Holder",
    "IssuingBody",
    "MetaItem",
    "NumberSequence",
    "StatusChange",
    "UTCDateTime",
]


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as naive UTC; read back as aware UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry; times must be aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Base of the registry models."""


class MetaItem(Base):
    """Registry-wide settings: the lookup-key check value and the audit chain's head."""

    __tablename__ = "registry_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class IssuingBody(Base):
    """An issuing body (颁发机构), by its 统一社会信用代码; owns one status list."""

    __tablename__ = "issuing_bodies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    next_status_index: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CertificateRow(Base):
    """One version of one certificate (a correction or reissue is a new row)."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("number", "version", name="uq_certificates_number_version"),
        UniqueConstraint("issuer_id", "status_index", name="uq_certificates_status_index"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(96), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    holder_name: Mapped[str] = mapped_column(String(100))
    id_hash: Mapped[str] = mapped_column(String(64), index=True)
    id_masked: Mapped[str] = mapped_column(String(40))
    issuer_id: Mapped[int] = mapped_column(ForeignKey("issuing_bodies.id"))
    issue_date: Mapped[date] = mapped_column(Date)
    first_issue_date: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    review_date: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    legacy: Mapped[bool] = mapped_column(Boolean, default=False)
    related_identifier: Mapped[str | None] = mapped_column(String(96))
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))
    status_index: Mapped[int | None] = mapped_column(Integer)
    ofd_path: Mapped[str | None] = mapped_column(Text)
    ofd_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_path: Mapped[str | None] = mapped_column(Text)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    record: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    issuer: Mapped[IssuingBody] = relationship(lazy="joined")
    superseded_by: Mapped[CertificateRow | None] = relationship(remote_side=[id])
    changes: Mapped[list[StatusChange]] = relationship(
        back_populates="certificate", order_by="StatusChange.id"
    )


class StatusChange(Base):
    """One change of a certificate's state, effective at ``at``."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    operator: Mapped[str] = mapped_column(String(100))

    certificate: Mapped[CertificateRow] = relationship(back_populates="changes")


class AuditEntry(Base):
    """One row of the append-only audit log; ``hash`` chains it to the row before."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    operator: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class FileIntent(Base):
    """A file committed to by a transaction but perhaps not yet renamed into place.

    Written in the same transaction as the certificate rows; the staged file is renamed
    after the commit and the intent deleted. Opening the registry finishes what a crash
    interrupted.
    """

    __tablename__ = "file_intents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    staged: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))


class Holder(Base):
    """A holder's account: found by the keyed hash of the ID number; the secret only as an
    Argon2id hash; failures counted, the account locked for a while after too many."""

    __tablename__ = "holders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AnnotationRow(Base):
    """One 加注: a holder's annotation of a certificate version for a scenario and window."""

    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("holders.id"))
    scenario: Mapped[str] = mapped_column(String(32))
    applied_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The annotated copy's files (OFD and PDF), when it was written.
    ofd_path: Mapped[str | None] = mapped_column(Text)
    ofd_sha256: Mapped[str | None] = mapped_column(String(64))
    pdf_path: Mapped[str | None] = mapped_column(Text)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    certificate: Mapped[CertificateRow] = relationship()


class NumberSequence(Base):
    """The next serial of one number prefix (e.g. a skill number's first 16 characters);
    advanced only inside the transaction that records what the serials were given to."""

    __tablename__ = "number_sequences"

    prefix: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_serial: Mapped[int] = mapped_column(Integer)


class BatchRow(Base):
    """One batch of issuing from a results file; its id comes from the file's digest and
    the options, so running the same command again resumes it."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    input_name: Mapped[str] = mapped_column(Text)
    input_sha256: Mapped[str] = mapped_column(String(64))
    issuer_code: Mapped[str] = mapped_column(String(18))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    out_dir: Mapped[str] = mapped_column(Text)
    operator: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))  # planning, issuing, done
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BatchItem(Base):
    """One row of a batch: planned (number allocated), issued, rejected, or void (a number
    allocated but not used, with the reason — never skipped silently)."""

    __tablename__ = "batch_items"
    __table_args__ = (UniqueConstraint("batch_id", "row_no", name="uq_batch_items_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"))
    row_no: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    candidate: Mapped[str | None] = mapped_column(String(64))
    holder_name: Mapped[str | None] = mapped_column(String(100))
    id_masked: Mapped[str | None] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    identifier: Mapped[str | None] = mapped_column(String(96))
    status_index: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(String(64))
    reason_zh: Mapped[str | None] = mapped_column(Text)
    reason_en: Mapped[str | None] = mapped_column(Text)
    record: Mapped[bytes | None] = mapped_column(LargeBinary)  # sealed like a certificate's


class ApiKey(Base):
    """An issuing body's API key: found by its public ``key_id``, the secret kept only as an
    Argon2id hash; revoked keys stay, marked."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    issuer_code: Mapped[str] = mapped_column(String(18), index=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
