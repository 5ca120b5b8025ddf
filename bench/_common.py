"""Helpers shared by the benches: real texts, and a fresh store with them imported."""

from __future__ import annotations

import gzip
import json
import lzma
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from signals.analyse import Analyser
from signals.corpus import import_jsonl
from signals.judge import JudgeModel
from signals.match import Ruleset
from signals.process import process_pending
from signals.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SIGNALS_SHARED_DATA", REPO.parent / "shared" / "data"))
LEMONDE_ITEMS = SHARED / "feeds" / "lemonde-rss-2022" / "items_dedup.jsonl.gz"


def now() -> datetime:
    return datetime.now(UTC)


def load_items(path: Path, n: int, skip: int = 0, since: str | None = None) -> list[dict[str, str]]:
    """``n`` corpus rows with a text (after skipping ``skip`` of them, and those dated before
    ``since``, an ISO date), as `signals import` rows. Reads .gz and .xz directly; takes Le Monde
    items (``link``, ``description``, ``published``) and the TV news reports (``url``,
    ``description``, ``date``)."""
    openers: dict[str, Callable[..., IO[str]]] = {".gz": gzip.open, ".xz": lzma.open}
    opener = openers.get(path.suffix, open)
    out: list[dict[str, str]] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            text = d.get("description") or d.get("text") or ""
            if not text:
                continue
            published = d.get("published") or (
                f"{d['date']}T12:00:00+00:00" if d.get("date") else "2022-06-01T00:00:00+00:00"
            )
            if since is not None and published[:10] < since:
                continue
            if skip:
                skip -= 1
                continue
            out.append(
                {
                    "url": d.get("link") or d["url"],
                    "title": d.get("title", ""),
                    "text": text,
                    "published": published,
                    "source": "bench",
                }
            )
            if len(out) >= n:
                break
    return out


def imported_store(tmp: Path, rows: list[dict[str, str]], name: str = "b") -> Store:
    """A fresh SQLite store in ``tmp`` with ``rows`` imported (ready to process)."""
    corpus = tmp / f"{name}.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    store = open_store(f"sqlite:///{tmp}/{name}.db")
    import_jsonl(store, corpus, now)
    return store


def timed_process(
    store: Store, ruleset: Ruleset, judge: JudgeModel, analyser: Analyser
) -> tuple[float, int]:
    """Seconds of one whole `process` of the store's ready articles, and how many it handled."""
    t0 = time.perf_counter()
    rep = process_pending(store, ruleset, judge, analyser, now)
    return time.perf_counter() - t0, rep.processed + rep.duplicates + rep.near_duplicates
