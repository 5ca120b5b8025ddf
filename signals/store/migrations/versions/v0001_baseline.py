"""Baseline: the schema of release 0.1.0 (``create_all``, meta.schema_version 1).

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

from signals.store.migrations import baseline

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    baseline.metadata.create_all(op.get_bind())
    # 0.1.0 refuses a database whose schema_version is above 1: a later revision that such a
    # release cannot work with raises this value
    op.bulk_insert(baseline.metadata.tables["meta"], [{"key": "schema_version", "value": "1"}])


def downgrade() -> None:
    raise NotImplementedError("the baseline is not downgraded: drop the database instead")
