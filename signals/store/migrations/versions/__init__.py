"""One module per revision (Alembic loads them by path; this file is skipped)."""
