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
from .fetch import Fetcher
from .judge import JudgeModel, load_model
from .match import Ruleset, compile_ruleset
from .process import ProcessReport, ensure_entities, process_pending, rematch
from .report.render import write_digest
from .settings import Settings
from .store import Store, open_store

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
    def open(cls, settings: Settings, need_sources: bool = True) -> Context:
        sources = load_sources(settings.sources_path) if need_sources else Sources()
        scenarios = load_scenarios(settings.scenarios_path)
        return cls(settings, sources, scenarios, open_store(settings.db_url))

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
                           limit=limit, neardup=ctx.sources.dedup.params())


def digest(ctx: Context, week: str | None = None) -> list[Path]:
    ruleset = ctx.ruleset()
    rematch(ctx.store, ruleset, ctx.judge(), ctx.analyser())
    now = ctx.settings.clock()
    week = week or last_complete_week(now)
    d, _ = build_digest(ctx.store, ruleset, week, now,
                        entities=lambda ids: ensure_entities(ctx.store, ctx.analyser(), ids))
    return write_digest(d, ctx.settings.reports_dir)
