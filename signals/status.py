"""``signals status``: each source's state, from the sources table (pure formatting).

A feed is ``new`` until its first fetch attempt, then ``ok`` or ``failing``; ``disabled`` by
failures or by ``sources.yaml``; ``removed`` once it left the file. Imported corpora
(``signals import``) are not fetched: they are listed apart, with their article counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .store.repo import SourceState

STATES = ("new", "ok", "failing", "disabled", "removed")
_FMT = "%Y-%m-%d %H:%M"


def source_state(src: SourceState) -> str:
    """The state shown for a feed (imported sources have no fetch state: ``import``)."""
    if src.kind != "feed":
        return "import"
    if not src.configured:
        return "removed"
    if not src.enabled:
        return "disabled"
    if src.last_attempt_at is None:
        return "new"
    return "failing" if src.consecutive_failures else "ok"


def _when(dt: datetime | None, default: str) -> str:
    return dt.strftime(_FMT) if dt is not None else default


def status_lines(
    sources: Sequence[SourceState], counts: Mapping[str, int], per_source: Mapping[str, int]
) -> list[str]:
    """The text report: article counts, the feeds table, then the imported corpora."""
    lines = [
        f"articles: {counts['done']} processed, {counts['ready']} waiting, "
        f"{counts['page']} waiting for their page, {counts['failed']} failed",
        f"{'source':32} {'state':9} {'last success':17} {'fails':>5} {'next fetch':17} reason",
    ]
    for r in sources:
        if r.kind != "feed":
            continue
        lines.append(
            f"{r.id[:32]:32} {source_state(r):9} {_when(r.last_success_at, '-'):17} "
            f"{r.consecutive_failures:>5} {_when(r.next_fetch_at, 'now'):17} "
            f"{r.disabled_reason or r.last_reason or ''}".rstrip()
        )
    imported = [r for r in sources if r.kind != "feed"]
    if imported:
        lines.append(f"imported (not fetched): {len(imported)}")
        lines += [f"  {r.id[:32]:32} {per_source.get(r.id, 0):>8} articles" for r in imported]
    return lines


def status_json(
    sources: Sequence[SourceState], counts: Mapping[str, int], per_source: Mapping[str, int]
) -> dict[str, Any]:
    """The ``--json`` report: every stored field of each source, plus its state and articles."""

    def row(r: SourceState) -> dict[str, Any]:
        d = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.__dict__.items()}
        return {**d, "state": source_state(r), "articles": per_source.get(r.id, 0)}

    return {"articles": dict(counts), "sources": [row(r) for r in sources]}
