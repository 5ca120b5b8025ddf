"""`signals.demo` in the fast suite: the last days of the corpus replayed (the whole replay and
its story are in test_demo_run.py, marked slow)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from signals.cli import cli
from signals.demo_corpus import demo_days, end_of_day, load_corpus
from signals.score import iso_week

REPO = Path(__file__).resolve().parents[1]


def test_the_last_days_replayed_give_the_last_week_s_digest_with_archived_links(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            f"sqlite:///{tmp_path / 'demo.db'}",
            "--reports",
            str(reports),
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "demo",
            "--days",
            "7",
        ],
    )
    assert res.exit_code == 0, res.output
    corpus = load_corpus()
    week = iso_week(end_of_day(demo_days(corpus)[-1]))
    assert re.search(
        rf"demo: serving {len(corpus.articles)} demo articles from {len(corpus.sources)} outlets "
        r"on http://127\.0\.0\.1:\d+; replaying 7 days into sqlite:///",
        res.output,
    ), res.output
    m = re.search(
        rf"week {week}: (\d+) new articles, (\d+) pages downloaded, (\d+) analysed", res.output
    )
    assert m, res.output
    new, pages, analysed = map(int, m.groups())
    assert new > 0 and pages == new and analysed == new
    digest = json.loads((reports / f"{week}.json").read_text(encoding="utf-8"))
    # every article of the week was fetched and analysed (the first day's feeds also carry a few
    # of the week before, filed under their own week)
    in_week = sum(iso_week(a.published) == week for a in corpus.articles)
    assert digest["week"] == week and digest["articles_analysed"] == in_week
    assert 0 < in_week <= analysed
    html = (reports / f"{week}.html").read_text(encoding="utf-8")
    assert "127.0.0.1" not in html  # the demo's server is gone: links go to the archived copies
    archived = sorted((reports / "demo" / "articles").rglob("*.html"))
    assert archived and all(p.stat().st_size > 0 for p in archived)
