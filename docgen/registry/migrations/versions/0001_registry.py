"""The registry: issuing bodies, certificate versions, status changes, audit log, file intents.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "registry_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    # the audit chain's head: every write transaction locks it first (one writer at a time)
    op.bulk_insert(meta, [{"key": "audit_head", "value": "0:" + "0" * 64}])
    op.create_table(
        "issuing_bodies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(18), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("next_status_index", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "certificates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("identifier", sa.String(96), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("number", sa.String(40), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("holder_name", sa.String(100), nullable=False),
        sa.Column("id_hash", sa.String(64), nullable=False, index=True),
        sa.Column("id_masked", sa.String(40), nullable=False),
        sa.Column("issuer_id", sa.Integer, sa.ForeignKey("issuing_bodies.id"), nullable=False),
        sa.Column("issue_date", sa.Date, nullable=False),
        sa.Column("first_issue_date", sa.Date),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.Column("review_date", sa.Date),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("legacy", sa.Boolean, nullable=False),
        sa.Column("related_identifier", sa.String(96)),
        sa.Column("superseded_by_id", sa.Integer, sa.ForeignKey("certificates.id")),
        sa.Column("status_index", sa.Integer),
        sa.Column("ofd_path", sa.Text),
        sa.Column("ofd_sha256", sa.String(64)),
        sa.Column("pdf_path", sa.Text),
        sa.Column("pdf_sha256", sa.String(64)),
        sa.Column("record", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("changed_at", sa.DateTime, nullable=False, index=True),
        sa.UniqueConstraint("number", "version", name="uq_certificates_number_version"),
        sa.UniqueConstraint("issuer_id", "status_index", name="uq_certificates_status_index"),
    )
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "certificate_id",
            sa.Integer,
            sa.ForeignKey("certificates.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("operator", sa.String(100), nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("operator", sa.String(100), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "file_intents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("staged", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("file_intents", "audit_log", "status_changes", "certificates"):
        op.drop_table(table)
    op.drop_table("issuing_bodies")
    op.drop_table("registry_meta")
