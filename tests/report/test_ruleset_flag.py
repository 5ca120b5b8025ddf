"""Digests written with another ruleset than the current one are flagged on the index and on
their own page (re-rendered from their JSON), until regenerated; the charts' labels are escaped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from signals.report.charts import chart_week
from signals.report.model import Digest
from signals.report.render import render_html, write_digest
from signals.score import week_bounds
from tests.test_report import make_digest

NOTICE = "Written with another ruleset"


def digest_of(week: str, ruleset: str) -> Digest:
    d = make_digest()
    start, end = week_bounds(week)
    return dataclasses.replace(d, week=week, start=start, end=end, ruleset_version=ruleset)


def test_stale_digests_are_flagged_until_regenerated(tmp_path: Path) -> None:
    write_digest(digest_of("2022-W09", "aaaa1111"), tmp_path)
    write_digest(digest_of("2022-W10", "aaaa1111"), tmp_path)
    assert NOTICE not in (tmp_path / "2022-W09.html").read_text(encoding="utf-8")
    write_digest(digest_of("2022-W11", "bbbb2222"), tmp_path)  # scenarios.yaml changed
    for week in ("2022-W09", "2022-W10"):
        page = (tmp_path / f"{week}.html").read_text(encoding="utf-8")
        assert NOTICE in page and f"signals digest --from {week} --to {week}" in page
    assert NOTICE not in (tmp_path / "2022-W11.html").read_text(encoding="utf-8")
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert index.count("another ruleset (aaaa1111)") == 2
    write_digest(digest_of("2022-W09", "bbbb2222"), tmp_path)  # regenerated
    assert NOTICE not in (tmp_path / "2022-W09.html").read_text(encoding="utf-8")
    assert NOTICE in (tmp_path / "2022-W10.html").read_text(encoding="utf-8")
    assert (tmp_path / "index.html").read_text(encoding="utf-8").count(
        "another ruleset (aaaa1111)"
    ) == 1


def test_chart_in_digest_escapes_the_title() -> None:
    d = make_digest('<script>alert(1)</script>"')
    trend = tuple(chart_week(r.score) for r in d.ruptures[:1])
    d = dataclasses.replace(
        d, ruptures=tuple(dataclasses.replace(r, trend=trend) for r in d.ruptures)
    )
    html = render_html(d)
    assert html.count('<svg class="chart"') >= len(d.ruptures)
    assert "<script>" not in html and 'aria-label="<' not in html
