"""Holder accounts and 加注 annotations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("id_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column(
            "certificate_id",
            sa.Integer,
            sa.ForeignKey("certificates.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("holder_id", sa.Integer, sa.ForeignKey("holders.id"), nullable=False),
        sa.Column("scenario", sa.String(32), nullable=False),
        sa.Column("applied_on", sa.Date, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("ofd_path", sa.Text),
        sa.Column("ofd_sha256", sa.String(64)),
        sa.Column("pdf_path", sa.Text),
        sa.Column("pdf_sha256", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("annotations")
    op.drop_table("holders")
