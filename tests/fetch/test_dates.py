from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signals.fetch.dates import effective_date

SEEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_missing() -> None:
    assert effective_date(None, SEEN) == (SEEN, "missing")


def test_past_and_near_future_are_kept() -> None:
    past = SEEN - timedelta(days=3)
    assert effective_date(past, SEEN) == (past, None)
    soon = SEEN + timedelta(hours=23, minutes=59)
    assert effective_date(soon, SEEN) == (soon, None)
    assert effective_date(SEEN + timedelta(hours=24), SEEN) == (SEEN + timedelta(hours=24), None)


def test_far_future() -> None:
    assert effective_date(SEEN + timedelta(hours=24, seconds=1), SEEN) == (SEEN, "future")
    assert effective_date(datetime(2099, 1, 1, tzinfo=UTC), SEEN) == (SEEN, "future")


def test_converted_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    date, flag = effective_date(datetime(2024, 5, 1, 18, 0, tzinfo=tokyo), SEEN.astimezone(tokyo))
    assert (date, flag) == (datetime(2024, 5, 1, 9, 0, tzinfo=UTC), None)
    assert date.tzinfo == UTC


def test_naive_refused() -> None:
    with pytest.raises(ValueError):
        effective_date(datetime(2024, 5, 1), SEEN)  # noqa: DTZ001
    with pytest.raises(ValueError):
        effective_date(None, datetime(2024, 5, 1))  # noqa: DTZ001


@given(
    st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))), st.datetimes(timezones=st.just(UTC))
)
def test_never_after_first_seen_plus_a_day(published: datetime | None, seen: datetime) -> None:
    date, flag = effective_date(published, seen)
    assert date.tzinfo == UTC
    assert date <= seen + timedelta(hours=24)
    assert (flag is None) == (date == published)
