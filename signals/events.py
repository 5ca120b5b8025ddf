"""Dated event windows (``bench/events.yaml``) against weekly alarms: hit rate and false alarms.

A rupture-week is an *alarm* when its status is ``gaining`` or ``new``. An event window is *hit*
when at least one of its weeks (or of the ``window - 1`` weeks after it, when scores sum a
window of weeks) is an alarm of its rupture. The false-alarm rate is the share of the scored
rupture-weeks outside every window of that rupture (and at least 4 weeks away from one) that
are alarms. Shared by ``signals backtest --events`` and ``bench/event_windows.py``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError
from .score import iso_week

ALARMS = ("gaining", "new")
NEAR_WEEKS = 4  # weeks around a window that are neither hit nor false alarm


@dataclass(frozen=True)
class EventWindow:
    rupture: str
    start: date
    end: date  # inclusive
    what: str = ""
    polarity: str = "evidence"  # "counter": hit when the counter-evidence rises, not the evidence

    @property
    def weeks(self) -> list[str]:
        """The ISO weeks the window touches, oldest first."""
        days = (self.end - self.start).days + 1
        return sorted(
            {
                iso_week(datetime.combine(self.start + timedelta(days=d), time(0), UTC))
                for d in range(days)
            }
        )


@dataclass(frozen=True)
class EventResult:
    event: EventWindow
    weeks: tuple[str, ...]
    hit_weeks: tuple[str, ...]


@dataclass(frozen=True)
class EventReport:
    results: tuple[EventResult, ...]
    false_alarms: int
    other_weeks: int  # scored rupture-weeks away from every window of their rupture

    @property
    def hits(self) -> int:
        return sum(1 for r in self.results if r.hit_weeks)

    @property
    def hit_rate(self) -> float:
        return self.hits / len(self.results) if self.results else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.other_weeks if self.other_weeks else 0.0

    def summary(self) -> str:
        return (
            f"event windows hit {self.hits}/{len(self.results)} ({self.hit_rate:.0%}); "
            f"false alarms {self.false_alarms}/{self.other_weeks} rupture-weeks "
            f"({self.false_alarm_rate:.1%})"
        )


def _date(value: Any, where: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{where}: not a date (YYYY-MM-DD): {value!r}") from None


def load_events(path: Path, rupture_ids: Set[str] | None = None) -> list[EventWindow]:
    """The windows of an events file: a YAML list of ``{rupture, from, to, what, polarity}``
    (``polarity``: ``evidence``, the default, or ``counter``)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of {{rupture, from, to, what}}")
    out = []
    for i, e in enumerate(data, 1):
        where = f"{path}: event {i}"
        if not isinstance(e, dict) or not {"rupture", "from", "to"} <= set(e):
            raise InputError(f"{where}: needs rupture, from and to")
        rupture = str(e["rupture"])
        if rupture_ids is not None and rupture not in rupture_ids:
            raise InputError(f"{where}: unknown rupture {rupture!r}")
        start, end = _date(e["from"], where), _date(e["to"], where)
        if end < start:
            raise InputError(f"{where}: 'to' is before 'from'")
        polarity = str(e.get("polarity") or "evidence")
        if polarity not in ("evidence", "counter"):
            raise InputError(f"{where}: polarity must be evidence or counter, got {polarity!r}")
        out.append(EventWindow(rupture, start, end, str(e.get("what") or ""), polarity))
    return out


def _monday(week: str) -> date:
    return date.fromisocalendar(int(week[:4]), int(week[6:]), 1)


def evaluate_events(
    events: Sequence[EventWindow],
    alarms: Mapping[str, Set[str]],
    weeks: Sequence[str],
    scored: Sequence[str],
    rupture_ids: Sequence[str],
    window: int = 1,
    counter_alarms: Mapping[str, Set[str]] | None = None,
) -> EventReport:
    """Hits and false alarms. ``weeks``: every week of the timeline (sorted); ``scored``: the
    weeks that were scored (alarms can only be there); events with no scored week are left out.
    A counter-evidence window is hit by ``counter_alarms`` (the weeks a rupture's counter-evidence
    rose), an evidence window by ``alarms``; false alarms count ``alarms`` only."""
    scored_set = set(scored)
    results = []
    near: dict[str, set[str]] = defaultdict(set)
    for e in events:
        ws = e.weeks
        lo = _monday(ws[0]) - timedelta(weeks=NEAR_WEEKS)
        hi = _monday(ws[-1]) + timedelta(weeks=NEAR_WEEKS + window)
        near[e.rupture].update(w for w in weeks if lo <= _monday(w) <= hi)
        if not scored_set & set(ws):
            continue
        # a window's alarms may come up to `window - 1` weeks after it (a summed window)
        last = _monday(ws[-1])
        tail = [w for w in weeks if 0 < (_monday(w) - last).days // 7 <= window - 1]
        source = (counter_alarms or {}) if e.polarity == "counter" else alarms
        hit = sorted(set(ws + tail) & set(source.get(e.rupture, ())))
        results.append(EventResult(e, tuple(ws), tuple(hit)))
    other = [(r, w) for r in rupture_ids for w in scored if w not in near[r]]
    false = sum(1 for r, w in other if w in alarms.get(r, ()))
    return EventReport(tuple(results), false, len(other))
