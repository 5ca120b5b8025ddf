"""The configuration in force in ``signals serve``: the last good version of ``sources.yaml``,
``scenarios.yaml`` and the schedule.

The first load is strict (a service never starts on a broken configuration). Afterwards
``reload`` (on SIGHUP, and before every job) loads the files whose content changed; a file
that fails validation is logged (file, line, key) and its last good version stays in force
until it is fixed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analyse import Analyser
from .config import Scenarios, Sources, load_scenarios, load_sources
from .errors import ConfigError
from .match import compile_ruleset
from .schedule import Schedule, load_schedule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """The configuration in force: the last good version of each file."""

    schedule: Schedule
    sources: Sources
    scenarios: Scenarios


def _fingerprint(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        return f"unreadable:{e.__class__.__name__}"


@dataclass
class _Watched:
    path: Path
    load: Callable[[Path], Any]
    seen: str = ""  # fingerprint of the content last looked at (good or not)
    error: str | None = None  # why the current content is not in force


class LiveConfig:
    """Loads the three files, then keeps the last good version of each as they change."""

    def __init__(self, schedule_path: Path, sources_path: Path, scenarios_path: Path) -> None:
        self._lock = threading.Lock()
        self._validator = Analyser(entities=False)  # compiles scenarios on reload (keys only)
        self._watched = {
            "schedule": _Watched(schedule_path, load_schedule),
            "sources": _Watched(sources_path, load_sources),
            "scenarios": _Watched(scenarios_path, self._load_scenarios),
        }
        loaded = {}
        problems = []
        for key, w in self._watched.items():
            w.seen = _fingerprint(w.path)
            try:
                loaded[key] = w.load(w.path)
            except ConfigError as e:
                problems += e.problems
        if problems:
            raise ConfigError(problems)
        self.current = Config(**loaded)

    def _load_scenarios(self, path: Path) -> Scenarios:
        scenarios = load_scenarios(path)
        compile_ruleset(scenarios, self._validator, str(path))  # terms must compile too
        return scenarios

    def reload(self, force: bool = False) -> tuple[Config, Config]:
        """Load the files that changed (all of them if ``force``); returns the configuration
        before and after (the same object when nothing in force changed)."""
        with self._lock:
            old = self.current
            new: dict[str, Any] = {
                "schedule": old.schedule,
                "sources": old.sources,
                "scenarios": old.scenarios,
            }
            changed = False
            for key, w in self._watched.items():
                fp = _fingerprint(w.path)
                if fp == w.seen and not force:
                    continue
                w.seen = fp
                try:
                    value = w.load(w.path)
                except ConfigError as e:
                    w.error = str(e)
                    for p in e.problems:
                        log.error("reload: %s", p)
                    log.error("reload: %s is invalid; keeping the last good configuration", w.path)
                    continue
                if w.error:
                    log.info("reload: %s is valid again", w.path)
                w.error = None
                if value != getattr(old, key):
                    new[key] = value
                    changed = True
                    log.info("reload: %s loaded", w.path)
            if changed:
                self.current = Config(**new)
            return old, self.current

    def errors(self) -> dict[str, str]:
        """File → why its current content is not in force."""
        return {str(w.path): w.error for w in self._watched.values() if w.error}
