"""The store: tables (``schema``), connection setup (``engine``), every query (``repo``) and
schema migrations (``migrate``, Alembic revisions in ``migrations/``); ``idle_check``, the
standard-library queries of the fast path of an idle ``run``.

``Store``, ``open_store`` and ``redact`` are loaded on first use, so that importing
``signals.store.idle_check`` does not import SQLAlchemy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Store, open_store, redact

__all__ = ["Store", "open_store", "redact"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import engine

        value = getattr(engine, name)
        globals()[name] = value  # once: the next lookups are plain attributes
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
