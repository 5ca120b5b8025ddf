"""The settings object every command passes down (never copied into module globals)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .values import DEFAULT_DB as DEFAULT_DB
from .values import parse_now as parse_now


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB
    sources_path: Path = Path("sources.yaml")
    scenarios_path: Path = Path("scenarios.yaml")
    reports_dir: Path = Path("reports")
    now: datetime | None = None  # injected clock for replays and backtests
    judge_path: Path | None = None  # the judge model; None: the one shipped with the package
    cache_dir: Path | None = None  # compiled-ruleset cache; None: $XDG_CACHE_HOME/signals

    def clock(self) -> datetime:
        """The current time: ``--now``/``SIGNALS_NOW`` when given, else the real UTC time."""
        return self.now if self.now is not None else datetime.now(UTC)


def env_default(name: str, fallback: str) -> str:
    return os.environ.get(name) or fallback
