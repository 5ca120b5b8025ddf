"""`signals.report.fmt`: safe links, sparklines, dates and numbers as the digests print them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from signals.report import fmt


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ex.org/a?b=1#c", "https://ex.org/a?b=1#c"),
        ("HTTP://ex.org/", "HTTP://ex.org/"),
        ('https://ex.org/é<x>"', "https://ex.org/%C3%A9%3Cx%3E%22"),
        ("javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("https://ex.org/a b", None),
        ("https://ex.org/\u200b", None),  # a format character
        ("//ex.org/a", None),
        ("https:/ex.org/a", None),
        ("https://ex.org:99999/", None),
        ("ftp://ex.org/", None),
        ("", None),
        ("https://ex.org/" + "a" * 8200, None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert fmt.safe_url(url) == expected


def test_sparkline() -> None:
    assert fmt.sparkline([]) == ""
    assert fmt.sparkline([0, 0, 0]) == "▁▁▁"
    assert fmt.sparkline([0, 1, 6, 3]) == "▁▃█▅"  # scaled to the largest
    assert fmt.sparkline([0, 1, 100]) == "▁▂█"  # any evidence shows above the floor
    # one scale for every rupture: a single article no longer draws a full bar beside twelve
    assert fmt.sparkline([0, 1, 0], top=12) == "▁▂▁"
    assert fmt.sparkline([0, 12, 6], top=12) == "▁█▅"


def test_dates() -> None:
    paris = timezone(timedelta(hours=2))
    assert fmt.iso(datetime(2025, 4, 14, 2, tzinfo=paris)) == "2025-04-14T00:00:00+00:00"
    assert fmt.day(datetime(2025, 4, 14, 1, tzinfo=paris)) == "2025-04-13"
    with pytest.raises(ValueError, match="naive datetime"):
        fmt.iso(datetime(2025, 4, 14))  # noqa: DTZ001
    d = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
    assert fmt.date_range(d(2022, 2, 14), d(2022, 2, 21)) == "14–20 February 2022"
    assert fmt.date_range(d(2022, 2, 28), d(2022, 3, 7)) == "28 February – 6 March 2022"
    assert fmt.date_range(d(2021, 12, 27), d(2022, 1, 3)) == "27 December 2021 – 2 January 2022"


def test_numbers_and_words() -> None:
    assert (
        fmt.fmt_int(1234567),
        fmt.fmt_rate(0.01234),
        fmt.fmt_ratio(None),
        fmt.fmt_ratio(2.25),
    ) == ("1,234,567", "12.3", "—", "×2.2")
    assert (fmt.fmt_p(0.0), fmt.fmt_p(0.0004), fmt.fmt_p(0.25)) == ("< 1e-300", "4.0e-04", "0.250")
    assert (fmt.fmt_score(None), fmt.fmt_score(0.456)) == ("", "0.46")
    assert (fmt.plural(1, "article"), fmt.plural(2, "article"), fmt.plural(1000, "source")) == (
        "1 article",
        "2 articles",
        "1,000 sources",
    )
    assert fmt.plural(3, "analysis", "analyses") == "3 analyses"
    assert fmt.one_line("  a\n\tb  c ") == "a b c"
