"""The only place the stages are wired together: config → fetch → process → digest.

Every entry point (CLI, scheduler, demo) goes through these functions, so a replay with
``--now`` runs exactly the code cron runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .analyse import Analyser
from .collect import FetchReport, fetch_feeds
from .config import Scenarios, Sources, load_scenarios, load_sources
from .digest import build_digest, last_complete_week
from .errors import EmptyWeekError
from .fetch import Fetcher
from .judge import JudgeModel, load_model
from .match import Ruleset, compile_ruleset
from .process import ProcessReport, ensure_entities, process_pending, rematch
from .report.render import write_digest
from .settings import Settings
from .store import Store, open_store, redact, repo

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

    @classmethod
    def open(cls, settings: Settings, need_sources: bool = True, create: bool = True) -> Context:
        """``create=False`` for the commands that only read: no database is created."""
        sources = load_sources(settings.sources_path) if need_sources else Sources()
        scenarios = load_scenarios(settings.scenarios_path)
        return cls(settings, sources, scenarios, open_store(settings.db_url, create=create))

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
        """``scenarios.yaml`` compiled once per run."""
        if self._ruleset is None:
            self._ruleset = compile_ruleset(self.scenarios, self.analyser(), str(self.settings.scenarios_path))
        return self._ruleset

    def close(self) -> None:
        self.store.dispose()


def fetch(ctx: Context, fetcher: Fetcher | None = None) -> FetchReport:
    own = fetcher is None
    fetcher = fetcher or Fetcher(ctx.sources.fetch)
    try:
        return fetch_feeds(ctx.store, ctx.sources, ctx.settings.clock, fetcher)
    finally:
        if own:
            fetcher.close()


def process(ctx: Context, limit: int | None = None) -> ProcessReport:
    return process_pending(ctx.store, ctx.ruleset(), ctx.judge(), ctx.analyser(), ctx.settings.clock,
                           limit=limit)


def digest(ctx: Context, week: str | None = None) -> list[Path]:
    """Write the week's digest. A week with no article analysed raises ``EmptyWeekError`` and
    writes nothing (an existing digest of that week is kept)."""
    now = ctx.settings.clock()
    week = week or last_complete_week(now)
    with ctx.store.engine.connect() as conn:
        if not repo.analysed_per_week(conn, [week]).get(week):
            raise EmptyWeekError(week, redact(ctx.store.url))
    ruleset = ctx.ruleset()
    rematch(ctx.store, ruleset, ctx.judge(), ctx.analyser())
    d, scores = build_digest(ctx.store, ruleset, week, now,
                             entities=lambda ids: ensure_entities(ctx.store, ctx.analyser(), ids))
    with ctx.store.begin() as conn:
        repo.save_scores(conn, [
            dict(week=s.week, rupture_id=s.rupture_id, ruleset_version=ruleset.version, evidence=s.evidence,
                 analysed=s.analysed, rate=s.rate, baseline_rate=s.baseline_rate, rate_ratio=s.rate_ratio,
                 p_value=s.p_value, q_value=s.q_value, sources=s.sources, doubts=s.doubts, status=s.status,
                 confidence=s.confidence, computed_at=now)
            for s in scores])
    return write_digest(d, ctx.settings.reports_dir)
