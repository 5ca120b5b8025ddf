from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signals.config import FetchSettings
from signals.fetch.backoff import JITTER, next_attempt, should_disable
from signals.models import FetchStatus

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
S = FetchSettings()  # base 300 s, cap 86 400 s, disable after 10
FAILURES = [FetchStatus.TEMP, FetchStatus.SOFT, FetchStatus.HARD]


def delay(
    status: FetchStatus,
    n: int,
    retry_after: float | None = None,
    seed: int = 0,
    settings: FetchSettings = S,
) -> float:
    at = next_attempt(NOW, status, n, 60, retry_after, settings, random.Random(seed))
    assert at.tzinfo is not None and at.utcoffset() == timedelta(0)
    return (at - NOW).total_seconds()


@pytest.mark.parametrize("status", [FetchStatus.OK, FetchStatus.NOT_MODIFIED])
def test_success_waits_the_interval(status: FetchStatus) -> None:
    for n in (0, 1, 7):
        assert next_attempt(NOW, status, n, 45, 999.0, S, random.Random(1)) == NOW + timedelta(
            minutes=45
        )


@pytest.mark.parametrize("status", FAILURES)
def test_exponential_with_jitter_bounds(status: FetchStatus) -> None:
    for n in range(1, 9):
        expected = min(300 * 2 ** (n - 1), 86_400)
        for seed in range(50):
            d = delay(status, n, seed=seed)
            assert (
                expected * (1 - JITTER) - 1e-6 <= d <= min(expected * (1 + JITTER), 86_400) + 1e-6
            )


def test_jitter_actually_spreads() -> None:
    values = {round(delay(FetchStatus.TEMP, 3, seed=s)) for s in range(100)}
    assert len(values) > 50
    assert min(values) < 1200 * 0.9 and max(values) > 1200 * 1.1


def test_first_failure_counts_from_zero_or_one() -> None:
    assert delay(FetchStatus.TEMP, 0) == delay(FetchStatus.TEMP, 1)


def test_capped_at_24_hours() -> None:
    for n in (9, 10, 20, 100, 10_000):
        for seed in range(20):
            assert delay(FetchStatus.HARD, n, seed=seed) <= 86_400
    assert max(delay(FetchStatus.HARD, 50, seed=s) for s in range(50)) == 86_400


def test_retry_after_is_honoured() -> None:
    assert delay(FetchStatus.TEMP, 1, retry_after=7200) == 7200  # later than the backoff
    assert delay(FetchStatus.TEMP, 1, retry_after=10) == delay(
        FetchStatus.TEMP, 1
    )  # earlier: backoff
    assert delay(FetchStatus.TEMP, 1, retry_after=10 * 86_400) == 86_400  # still capped
    assert delay(FetchStatus.TEMP, 1, retry_after=0.0) == delay(FetchStatus.TEMP, 1)


def test_custom_settings() -> None:
    s = FetchSettings(backoff_base_seconds=10, backoff_max_seconds=100)
    assert 8 <= delay(FetchStatus.TEMP, 1, settings=s) <= 12
    assert delay(FetchStatus.TEMP, 30, settings=s) <= 100


def test_timezones() -> None:
    paris = timezone(timedelta(hours=2))
    at = next_attempt(NOW.astimezone(paris), FetchStatus.OK, 0, 60, None, S, random.Random(0))
    assert at == NOW + timedelta(hours=1) and at.tzinfo == UTC
    with pytest.raises(ValueError, match="naive"):
        next_attempt(datetime(2024, 5, 1), FetchStatus.OK, 0, 60, None, S, random.Random(0))  # noqa: DTZ001


@given(
    st.sampled_from(list(FetchStatus)),
    st.integers(0, 10_000),
    st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False)),
    st.integers(0, 2**32),
)
def test_always_within_bounds(
    status: FetchStatus, n: int, retry_after: float | None, seed: int
) -> None:
    d = delay(status, n, retry_after, seed)
    assert 0 < d <= max(86_400, 60 * 60)


def test_should_disable() -> None:
    assert should_disable(FetchStatus.HARD, 1, S, reason="http-410")
    assert not should_disable(FetchStatus.HARD, 1, S, reason="blocked-address")
    assert not should_disable(FetchStatus.HARD, 9, S)
    assert should_disable(FetchStatus.HARD, 10, S)
    assert should_disable(FetchStatus.HARD, 11, S)
    for status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.TEMP, FetchStatus.SOFT):
        assert not should_disable(status, 100, S)
    assert should_disable(FetchStatus.HARD, 3, FetchSettings(disable_after_failures=3))
