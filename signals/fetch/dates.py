"""Which date an item is filed under: its own, unless missing or implausibly in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["FUTURE_TOLERANCE", "effective_date"]

FUTURE_TOLERANCE = timedelta(hours=24)


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime: pass a timezone-aware UTC datetime")
    return value.astimezone(UTC)


def effective_date(published: datetime | None, first_seen: datetime) -> tuple[datetime, str | None]:
    """``(date, flag)``: ``(first_seen, "missing")`` without a date, ``(first_seen, "future")``
    for a date more than 24 h after we first saw the item, else ``(published, None)``.
    All aware UTC; naive datetimes are refused with ValueError."""
    first_seen = _aware_utc(first_seen, "first_seen")
    if published is None:
        return first_seen, "missing"
    published = _aware_utc(published, "published")
    if published - first_seen > FUTURE_TOLERANCE:
        return first_seen, "future"
    return published, None
