"""Small text helpers shared by every rendering: safe links, dates, numbers, sparklines.
They return plain, unescaped text; escaping is the renderer's job."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

SPARK = "▁▂▃▄▅▆▇█"


def safe_url(url: str) -> str | None:
    """The URL to put in a link, or ``None`` when it must not be linked.

    Only absolute ``http``/``https`` URLs with a host; anything carrying whitespace or control
    characters is refused rather than repaired (browsers strip tabs and newlines, which is how
    ``java\\tscript:`` tricks work). Characters that are unsafe in a link destination (``<``,
    ``>``, quotes, backslashes, non-ASCII) are percent-encoded.
    """
    if not isinstance(url, str) or not url or len(url) > 8192:
        return None
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if url[: len(parts.scheme) + 3].lower() not in ("http://", "https://"):
        return None
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def sparkline(history: Sequence[int], top: int | None = None) -> str:
    """One bar per week, ``top`` (default: the largest of ``history``) at full height, so that
    rows drawn with one ``top`` compare; any evidence shows above the floor ``▁``."""
    top = max(history, default=0) if top is None else max(top, max(history, default=0))
    if top <= 0:
        return SPARK[0] * len(history)
    return "".join(SPARK[0] if v <= 0 else SPARK[1 + round(v / top * 6)] for v in history)


def utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime in a digest: {dt!r}")
    return dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    return utc(dt).isoformat()


def day(dt: datetime) -> str:
    return utc(dt).strftime("%Y-%m-%d")


def date_range(start: datetime, end: datetime) -> str:
    """``14–20 February 2022`` (``end`` is exclusive)."""
    a, b = utc(start), utc(end) - timedelta(days=1)
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {b:%B %Y}"
    if a.year == b.year:
        return f"{a.day} {a:%B} – {b.day} {b:%B %Y}"
    return f"{a.day} {a:%B %Y} – {b.day} {b:%B %Y}"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def fmt_int(n: int) -> str:
    return f"{n:,}"


def fmt_rate(rate: float) -> str:
    return f"{rate * 1000:,.1f}"


def fmt_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"×{ratio:,.1f}"


def fmt_p(p: float) -> str:
    if p <= 0.0:
        return "< 1e-300"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.3f}"


def fmt_score(score: float | None) -> str:
    return "" if score is None else f"{score:.2f}"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{fmt_int(n)} {word if n == 1 else (many or word + 's')}"
