"""The near-duplicate index: MinHash LSH buckets of processed article bodies (``signals.neardup``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from signals.store.schema import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "near_dup_bands",
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id"), nullable=False),
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "band"),
    )
    op.create_index("ix_near_dup_bands_bucket", "near_dup_bands", ["bucket"])


def downgrade() -> None:
    op.drop_index("ix_near_dup_bands_bucket", table_name="near_dup_bands")
    op.drop_table("near_dup_bands")
