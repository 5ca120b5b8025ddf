"""``signals demo``: replay the bundled demo corpus through the real pipeline, offline.

The corpus (``signals/demo_data/``, fictional articles written for this project, shipped
with the package) is served as RSS feeds and article pages on 127.0.0.1; then, for every day
of the corpus, the clock is set to that evening and the real fetch → process chain runs,
exactly as cron would. Finally the digest of the corpus's last week is written, with a copy
of the pages beside it (``reports/demo/articles/``) that its links point to.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from . import pipeline
from .demo_corpus import default_corpus_dir, demo_days, end_of_day, load_corpus
from .demo_site import demo_sources_yaml, make_router, relink_to_archive, write_archive
from .devserver import serve
from .score import iso_week
from .settings import DEFAULT_DB, Settings

DEMO_DB = "sqlite:///db/demo.db"


def demo_scenarios(settings: Settings) -> Path:
    """``--scenarios`` when that file exists, else the copy shipped with the package (a wheel
    installed anywhere runs the demo with no checkout beside it)."""
    if settings.scenarios_path.exists():
        return settings.scenarios_path
    return default_corpus_dir() / "scenarios.yaml"


def run_demo(
    settings: Settings,
    days: int | None = None,
    say: Callable[[str], None] = print,
    corpus_dir: Path | None = None,
) -> list[Path]:
    corpus = load_corpus(corpus_dir)
    db_url = DEMO_DB if settings.db_url == DEFAULT_DB else settings.db_url
    if db_url == DEMO_DB:
        # the demo is a replay: start from an empty database every time
        for suffix in ("", "-wal", "-shm"):
            Path(f"db/demo.db{suffix}").unlink(missing_ok=True)
    all_days = demo_days(corpus)
    if days is not None:
        all_days = all_days[-days:]
    clock = {"now": end_of_day(all_days[0])}
    router = make_router(corpus, lambda: clock["now"])
    with tempfile.TemporaryDirectory(prefix="signals-demo-") as tmp, serve(router) as server:
        sources_path = Path(tmp) / "sources.yaml"
        sources_path.write_text(demo_sources_yaml(server.base_url, corpus), encoding="utf-8")
        base = dataclasses.replace(
            settings,
            db_url=db_url,
            sources_path=sources_path,
            now=clock["now"],
            scenarios_path=demo_scenarios(settings),
        )
        ctx = pipeline.Context.open(base)
        try:
            say(
                f"demo: serving {len(corpus.articles)} demo articles from {len(corpus.sources)} outlets "
                f"on {server.base_url}; replaying {len(all_days)} days into {db_url}"
            )
            new = analysed = pages = 0
            for i, day in enumerate(all_days, 1):
                clock["now"] = end_of_day(day)
                ctx.settings = dataclasses.replace(base, now=clock["now"])
                res = pipeline.run_job(ctx, pipeline.Job(pipeline.JobKind.RUN))
                assert (
                    res.fetched is not None and res.processed is not None
                )  # a RUN that was not stopped
                new, analysed = new + res.fetched.new_articles, analysed + res.processed.processed
                pages += res.fetched.pages_ok
                if i == len(all_days) or iso_week(end_of_day(all_days[i])) != iso_week(
                    clock["now"]
                ):
                    say(
                        f"  week {iso_week(clock['now'])}: {new} new articles, {pages} pages "
                        f"downloaded, {analysed} analysed"
                    )
                    new = analysed = pages = 0
            last = clock["now"]
            ctx.settings = dataclasses.replace(base, now=last + timedelta(days=1))
            paths = pipeline.run_job(
                ctx, pipeline.Job(pipeline.JobKind.DIGEST, week=iso_week(last))
            ).written
        finally:
            ctx.close()
    archive = write_archive(corpus, settings.reports_dir, last)
    relink_to_archive(paths, server.base_url)
    return [*paths, archive]
