"""The store: tables (``schema``), connection setup (``engine``) and every query (``repo``)."""

from .engine import Store, open_store, redact

__all__ = ["Store", "open_store", "redact"]
