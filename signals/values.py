"""The default database and the ``--now`` parser, shared by ``signals.settings`` and the fast
path of an idle ``run`` (``signals.fast_run``), which must not import dataclasses' machinery:
standard library ``datetime`` only."""

from __future__ import annotations

from datetime import UTC, datetime

DEFAULT_DB = "sqlite:///db/signals.db"


def parse_now(value: str) -> datetime:
    """ISO-8601 date or datetime → aware UTC (a naive value is taken as UTC)."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not an ISO-8601 date or datetime: {value!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
