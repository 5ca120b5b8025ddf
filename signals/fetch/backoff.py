"""When to fetch a source next, and when to give up on it. Pure functions.

* success / not modified: the source's normal interval;
* failure: ``backoff_base_seconds`` doubled per consecutive failure, ±20 % jitter (so sources
  that failed together do not retry together), capped at ``backoff_max_seconds``; a server's
  ``Retry-After`` is honoured (the later of it and the backoff, still capped);
* a source is disabled after a 410 Gone, or after ``disable_after_failures`` consecutive hard
  failures.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from ..config import FetchSettings
from ..models import FetchStatus

__all__ = ["JITTER", "next_attempt", "should_disable"]

JITTER = 0.2  # ±20 %
_MAX_DOUBLINGS = 64  # 2**64 × any base is far beyond any cap; avoids float overflow


def _aware_utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware UTC datetime")
    return now.astimezone(UTC)


def next_attempt(
    now: datetime,
    status: FetchStatus,
    consecutive_failures: int,
    interval_minutes: int,
    retry_after: float | None,
    settings: FetchSettings,
    rng: random.Random,
) -> datetime:
    """The time of the next fetch of a source (aware UTC).

    ``consecutive_failures`` counts the failures in a row including this one (0 or 1 both
    mean "first failure").
    """
    now = _aware_utc(now)
    if status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED):
        return now + timedelta(minutes=interval_minutes)
    cap = settings.backoff_max_seconds
    doublings = min(max(consecutive_failures, 1) - 1, _MAX_DOUBLINGS)
    delay = min(settings.backoff_base_seconds * 2.0**doublings, cap)
    delay = min(delay * rng.uniform(1.0 - JITTER, 1.0 + JITTER), cap)
    if retry_after is not None and retry_after == retry_after and retry_after > 0:
        delay = min(max(delay, retry_after), cap)
    return now + timedelta(seconds=delay)


def should_disable(
    status: FetchStatus,
    consecutive_hard_failures: int,
    settings: FetchSettings,
    reason: str | None = None,
) -> bool:
    """Disable the source? Yes after a 410 Gone (``reason == "http-410"``, the reason of the
    ``FetchResult``), or once ``consecutive_hard_failures`` (including this one) reaches
    ``settings.disable_after_failures``."""
    if status is not FetchStatus.HARD:
        return False
    if reason == "http-410":
        return True
    return consecutive_hard_failures >= settings.disable_after_failures
