"""The only place the stages are wired together: config → fetch → process → digest.

Every entry point (CLI, scheduler, demo) goes through these functions, so a replay with
``--now`` runs exactly the code cron runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from . import ruleset_cache
from .analyse import Analyser
from .collect import FetchReport, fetch_feeds
from .config import Scenarios, Sources, load_scenarios, load_sources
from .digest import build_digest, last_complete_week
from .fetch import Fetcher
from .judge import JudgeModel, load_model
from .match import Ruleset, compile_ruleset
from .process import ProcessReport, ensure_entities, process_pending, rematch
from .progress import NO_PROGRESS, Progress
from .settings import Settings
from .store import Store, open_store, repo

log = logging.getLogger(__name__)


@dataclass
class Context:
    """What a command needs, loaded once: settings, validated config, store, ruleset."""

    settings: Settings
    sources: Sources
    scenarios: Scenarios
    store: Store
    _analyser: Analyser | None = None
    _ruleset: Ruleset | None = None
    _judge: JudgeModel | None = None
    _ruleset_key: str | None = None  # where ``ruleset()`` caches its compile (None: not cached)

    @classmethod
    def open(cls, settings: Settings, need_sources: bool = True) -> Context:
        """Load and validate the config; a cached compile of ``scenarios.yaml`` (same bytes,
        same code) stands for its validation and spares the compile (see ``ruleset_cache``)."""
        sources = load_sources(settings.sources_path) if need_sources else Sources()
        cache_dir = settings.cache_dir or ruleset_cache.default_cache_dir()
        key = ruleset_cache.file_key(settings.scenarios_path)
        cached = ruleset_cache.load(cache_dir, key) if key else None
        if cached is not None:
            scenarios = cached.scenarios
        else:
            scenarios = load_scenarios(settings.scenarios_path)
            if key != ruleset_cache.file_key(settings.scenarios_path):
                key = None  # edited while we read it: do not cache under the wrong key
        return cls(settings, sources, scenarios, open_store(settings.db_url), _ruleset=cached,
                   _ruleset_key=key)

    def analyser(self) -> Analyser:
        """One per process. Analysis is tokeniser-only; the NER model loads only when an
        article first becomes evidence (its entities are shown in the digest)."""
        if self._analyser is None:
            self._analyser = Analyser(entities=False)
        return self._analyser

    def judge(self) -> JudgeModel:
        """The article-level judge (``--judge`` or the model shipped with the package)."""
        if self._judge is None:
            self._judge = load_model(self.settings.judge_path)
        return self._judge

    def ruleset(self) -> Ruleset:
        """``scenarios.yaml`` compiled once per run (and cached on disk for the next runs)."""
        if self._ruleset is None:
            self._ruleset = compile_ruleset(self.scenarios, self.analyser(), str(self.settings.scenarios_path))
            if self._ruleset_key is not None:
                ruleset_cache.save(self.settings.cache_dir or ruleset_cache.default_cache_dir(),
                                   self._ruleset_key, self._ruleset)
        if self._ruleset.analyser is None:  # loaded from the cache
            self._ruleset.analyser = self.analyser()
        return self._ruleset

    def close(self) -> None:
        self.store.dispose()


def fetch(ctx: Context, fetcher: Fetcher | None = None, progress: Progress = NO_PROGRESS) -> FetchReport:
    own = fetcher is None
    fetcher = fetcher or Fetcher(ctx.sources.fetch)
    try:
        return fetch_feeds(ctx.store, ctx.sources, ctx.settings.clock, fetcher, progress=progress)
    finally:
        if own:
            fetcher.close()


def process(ctx: Context, limit: int | None = None, progress: Progress = NO_PROGRESS) -> ProcessReport:
    return process_pending(ctx.store, ctx.ruleset(), ctx.judge(), ctx.analyser(), ctx.settings.clock,
                           limit=limit, progress=progress)


def digest(ctx: Context, week: str | None = None, progress: Progress = NO_PROGRESS) -> list[Path]:
    ruleset = ctx.ruleset()
    rematch(ctx.store, ruleset, ctx.judge(), ctx.analyser(), progress=progress)
    now = ctx.settings.clock()
    week = week or last_complete_week(now)
    d, scores = build_digest(ctx.store, ruleset, week, now,
                             entities=lambda ids: ensure_entities(ctx.store, ctx.analyser(), ids))
    with ctx.store.begin() as conn:
        repo.save_scores(conn, [
            dict(week=s.week, rupture_id=s.rupture_id, ruleset_version=ruleset.version, evidence=s.evidence,
                 analysed=s.analysed, rate=s.rate, baseline_rate=s.baseline_rate, rate_ratio=s.rate_ratio,
                 p_value=s.p_value, q_value=s.q_value, sources=s.sources, doubts=s.doubts, status=s.status,
                 confidence=s.confidence, computed_at=now)
            for s in scores])
    from .report.render import write_digest  # jinja2: only when a digest is written

    return write_digest(d, ctx.settings.reports_dir)
