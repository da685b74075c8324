"""Batches of issuing from exam results, their rows, and number sequences.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "number_sequences",
        sa.Column("prefix", sa.String(40), primary_key=True),
        sa.Column("next_serial", sa.Integer, nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("input_name", sa.Text, nullable=False),
        sa.Column("input_sha256", sa.String(64), nullable=False),
        sa.Column("issuer_code", sa.String(18), nullable=False),
        sa.Column("issued_at", sa.DateTime, nullable=False),
        sa.Column("out_dir", sa.Text, nullable=False),
        sa.Column("operator", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rows_read", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
    )
    op.create_table(
        "batch_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("batch_id", sa.String(32), sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("row_no", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("candidate", sa.String(64)),
        sa.Column("holder_name", sa.String(100)),
        sa.Column("id_masked", sa.String(40)),
        sa.Column("unit", sa.String(200)),
        sa.Column("number", sa.String(40)),
        sa.Column("identifier", sa.String(96)),
        sa.Column("status_index", sa.Integer),
        sa.Column("field", sa.String(64)),
        sa.Column("reason_zh", sa.Text),
        sa.Column("reason_en", sa.Text),
        sa.Column("record", sa.LargeBinary),
        sa.UniqueConstraint("batch_id", "row_no", name="uq_batch_items_row"),
    )
    op.create_index("ix_batch_items_batch_state", "batch_items", ["batch_id", "state"])
    op.create_index("ix_batch_items_number", "batch_items", ["number"], unique=True)


def downgrade() -> None:
    op.drop_table("batch_items")
    op.drop_table("batches")
    op.drop_table("number_sequences")
