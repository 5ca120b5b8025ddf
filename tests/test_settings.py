"""`signals.settings`: the injected clock, ``--now`` parsing, environment defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signals.settings import DEFAULT_DB, Settings, env_default, parse_now


def test_defaults() -> None:
    s = Settings()
    assert s.db_url == DEFAULT_DB == "sqlite:///db/signals.db"
    assert (str(s.sources_path), str(s.scenarios_path), str(s.reports_dir)) == (
        "sources.yaml",
        "scenarios.yaml",
        "reports",
    )
    assert (s.now, s.judge_path, s.cache_dir) == (None, None, None)


def test_the_clock_is_the_injected_time_else_now() -> None:
    fixed = datetime(2025, 4, 14, 8, tzinfo=UTC)
    assert Settings(now=fixed).clock() == fixed
    before = datetime.now(UTC)
    real = Settings().clock()
    assert real.tzinfo is not None and before <= real <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-04-14", datetime(2025, 4, 14, tzinfo=UTC)),
        ("2025-04-14T10:30", datetime(2025, 4, 14, 10, 30, tzinfo=UTC)),  # naive: taken as UTC
        ("2025-04-14T10:30:00Z", datetime(2025, 4, 14, 10, 30, tzinfo=UTC)),
        (" 2025-04-14T12:30:00+02:00 ", datetime(2025, 4, 14, 10, 30, tzinfo=UTC)),
    ],
)
def test_parse_now(value: str, expected: datetime) -> None:
    got = parse_now(value)
    assert got == expected and got.utcoffset() == timedelta(0)


def test_parse_now_converts_to_utc() -> None:
    got = parse_now("2025-01-01T00:00:00-05:00")
    assert got.tzinfo is UTC and got == datetime(2025, 1, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01", "", "14/04/2025"])
def test_parse_now_refuses_with_one_message(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^not an ISO-8601 date or datetime: "):
        parse_now(bad)


def test_env_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGNALS_TEST_SETTING", raising=False)
    assert env_default("SIGNALS_TEST_SETTING", "fallback") == "fallback"
    monkeypatch.setenv("SIGNALS_TEST_SETTING", "")
    assert env_default("SIGNALS_TEST_SETTING", "fallback") == "fallback"  # empty is unset
    monkeypatch.setenv("SIGNALS_TEST_SETTING", "given")
    assert env_default("SIGNALS_TEST_SETTING", "fallback") == "given"
