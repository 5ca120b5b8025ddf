"""Integration: replay 10 weeks of real Le Monde RSS snapshots through the real HTTP fetch path.

Each day's snapshots are served on 127.0.0.1 as the feeds; `signals run --now <that day>` runs;
then `signals digest` for the last week. The stored articles must equal the distinct items
served, the digest's counts must match them, and running a day twice changes nothing.
"""

from __future__ import annotations

import json
import tarfile
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from signals.cli import cli
from signals.devserver import Response, serve
from signals.fetch import canonicalize, effective_date
from signals.score import iso_week
from signals.store import open_store
from signals.store import schema as t

from .conftest import shared

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("replay")]
FIRST_DAY = date(2022, 3, 7)  # a Monday
DAYS = 70  # 10 ISO weeks: 2022-W10 .. 2022-W19
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive = shared("feeds", "lemonde-rss-2022", "lemonde_rss_2022_snapshots.tar.xz")
    out = tmp_path_factory.mktemp("lemonde")
    with tarfile.open(archive) as tar:
        tar.extractall(out, filter="data")
    return out / "Corpus" / "2022"


def day_files(root: Path, day: date) -> dict[str, Path]:
    """feed code → snapshot file of that day (the last capture of the day)."""
    d = root / MONTHS[day.month - 1] / f"{day.day:02d}"
    files: dict[str, Path] = {}
    if d.exists():
        for capture in sorted(d.iterdir()):
            for f in capture.glob("*.xml"):
                files[f.stem.replace(",", "_")] = f
    return files


def test_replay_ten_weeks(snapshots: Path, tmp_path: Path) -> None:
    codes = sorted(
        {c for i in range(DAYS) for c in day_files(snapshots, FIRST_DAY + timedelta(days=i))}
    )
    assert len(codes) == 16
    current: dict[str, Path] = {}

    def router(path: str, _headers: dict[str, str]) -> Response:
        code = path.removeprefix("/feeds/").removesuffix(".xml")
        f = current.get(code)
        if f is None:
            return Response(404, b"no snapshot that day")
        return Response(200, f.read_bytes(), {"Content-Type": "application/rss+xml; charset=utf-8"})

    db = f"sqlite:///{tmp_path / 'replay.db'}"
    reports = tmp_path / "reports"
    served_first_seen: dict[str, datetime] = {}
    served_published: dict[str, datetime | None] = {}
    runner = CliRunner()
    with serve(router) as srv:
        sources = tmp_path / "sources.yaml"
        lines = [
            "defaults: {interval_minutes: 60, fetch_pages: false, language: fr}",
            'fetch: {allow_networks: ["127.0.0.0/8"]}',
            "sources:",
        ]
        for c in codes:
            lines.append(
                f"  - {{id: lemonde-{c.replace('_', '-').lower()}, name: 'Le Monde {c}', "
                f"url: '{srv.base_url}/feeds/{c}.xml'}}"
            )
        sources.write_text("\n".join(lines) + "\n", encoding="utf-8")
        base = ["--db", db, "--sources", str(sources), "--reports", str(reports)]

        def run_day(day: date) -> None:
            now = datetime(day.year, day.month, day.day, 20, 0, tzinfo=UTC)
            current.clear()
            current.update(day_files(snapshots, day))
            for f in current.values():  # what we serve, as feedparser sees it
                for e in feedparser.parse(f.read_bytes()).entries:
                    url = canonicalize(e.get("link") or "", base=None) if e.get("link") else None
                    if url and url not in served_first_seen:
                        served_first_seen[url] = now
                        p = e.get("published_parsed") or e.get("updated_parsed")
                        served_published[url] = datetime(*p[:6], tzinfo=UTC) if p else None
            res = runner.invoke(cli, [*base, "--now", now.isoformat(), "run"])
            assert res.exit_code == 0, res.output

        for i in range(DAYS):
            run_day(FIRST_DAY + timedelta(days=i))
        store = open_store(db)
        with store.engine.connect() as conn:
            n_articles = conn.execute(select(func.count()).select_from(t.articles)).scalar_one()
        # running the last day twice leaves the article count unchanged
        run_day(FIRST_DAY + timedelta(days=DAYS - 1))
        with store.engine.connect() as conn:
            assert (
                conn.execute(select(func.count()).select_from(t.articles)).scalar_one()
                == n_articles
            )

    assert n_articles == len(served_first_seen), "every distinct item served is one article"
    last_week = iso_week(
        datetime.combine(FIRST_DAY + timedelta(days=DAYS - 1), datetime.min.time(), UTC)
    )
    res = runner.invoke(cli, [*base, "--now", "2022-05-16T08:00:00+00:00", "digest"])
    assert res.exit_code == 0, res.output
    digest = json.loads(
        (reports / f"{last_week.replace('-W', '-W')}.json").read_text(encoding="utf-8")
    )
    assert digest["week"] == last_week

    # expected: items served whose effective date falls in the last week, minus collapsed copies
    per_week: dict[str, int] = defaultdict(int)
    for url, seen in served_first_seen.items():
        eff, _ = effective_date(served_published[url], seen)
        per_week[iso_week(eff)] += 1
    with store.engine.connect() as conn:
        dups = conn.execute(
            select(func.count())
            .select_from(t.articles)
            .where(t.articles.c.week == last_week, t.articles.c.dup_of.is_not(None))
        ).scalar_one()
        not_done = conn.execute(
            select(func.count()).select_from(t.articles).where(t.articles.c.state != "done")
        ).scalar_one()
    assert not_done == 0
    print(
        f"replay: {DAYS} days x {len(codes)} feeds, {n_articles} articles stored "
        f"(= distinct items served), {per_week[last_week]} in {last_week}, {dups} collapsed copies"
    )
    assert per_week[last_week] > 300
    assert digest["articles_analysed"] == per_week[last_week] - dups
    assert len(digest["ruptures"]) == len(json.loads(json.dumps(digest["ruptures"])))
    for r in digest["ruptures"]:
        # the digest lists every counted article once (no analyst verdicts in a replay)
        assert r["evidence"] == len(r["articles"]) == len({a["url"] for a in r["articles"]})
        assert r["evidence"] <= digest["articles_analysed"]
    for ext in ("md", "html"):
        assert (reports / f"{last_week}.{ext}").stat().st_size > 500
    store.dispose()
