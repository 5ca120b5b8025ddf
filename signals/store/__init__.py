"""The store: tables (``schema``), connection setup (``engine``), every query (``repo``) and
schema migrations (``migrate``, Alembic revisions in ``migrations/``)."""

from .engine import Store, open_store, redact

__all__ = ["Store", "open_store", "redact"]
