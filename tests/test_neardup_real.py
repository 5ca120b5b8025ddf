"""The near-duplicate collapse, batched (one band query per batch, not one per article), decides
exactly what the per-article queries decided: over real TV reports with re-edited copies (lead
dropped, another title, a byline added; inside and outside the window, copies of copies, exact
copies), processed in batches that cut through the copies, the pairs are the golden ones
recorded with the per-article version (article indexes only, no text)."""

from __future__ import annotations

import json
import lzma
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from sqlalchemy import select

from signals.analyse import Analyser
from signals.config import Scenarios
from signals.corpus import import_jsonl
from signals.match import compile_ruleset
from signals.neardup import NearDupParams
from signals.process import process_pending
from signals.store import open_store
from signals.store import schema as t

from .conftest import shared
from .test_judge import accept_all

NOW = datetime(2026, 1, 1, tzinfo=UTC)
START = datetime(2025, 6, 1, tzinfo=UTC)


def _reports(n: int) -> list[dict[str, str]]:
    path = shared("backtest", "fr-tvnews-2013-2022", "tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz")
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        rows = (json.loads(line) for line in fh)
        return [r for r in islice(rows, n * 2) if len(r["description"].split()) > 60][:n]


def _corpus(reports: list[dict[str, str]]) -> list[dict[str, str]]:
    """Originals, and for some of them copies re-edited in several ways, at several dates."""
    out = []

    def add(i: int, kind: str, title: str, text: str, day: float) -> None:
        when = START + timedelta(days=day)
        out.append(
            {
                "url": f"https://tv.example/{i}/{kind}",
                "title": title,
                "text": text,
                "published": when.isoformat(),
                "source": f"src-{len(out) % 3}",
            }
        )

    for i, r in enumerate(reports):
        title, text = r["title"], r["description"]
        sentences = text.split(". ")
        day = i * 0.5
        add(i, "orig", title, text, day)
        if i % 3 == 0:  # lead dropped, another title, two days later: a near copy
            add(i, "lead", f"{title} (suite)", ". ".join(sentences[1:]), day + 2)
        if i % 4 == 0:  # a byline added, half a day later
            add(i, "byline", title, f"{text} Avec notre correspondant à Lyon.", day + 0.5)
        if i % 5 == 0:  # the same text, outside the 7-day window
            add(i, "late", title, text, day + 30)
        if i % 6 == 0:  # an exact copy
            add(i, "exact", title, text, day + 1)
        if i % 7 == 0:  # a copy of the lead-dropped copy, last sentence dropped too
            add(i, "copy2", title, ". ".join(sentences[1:-1]), day + 3)
    return out


def _collapse_pairs(
    tmp: Path, rows: list[dict[str, str]], batch: int
) -> list[tuple[str, str, bool]]:
    corpus = tmp / "c.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    store = open_store(f"sqlite:///{tmp}/b{batch}.db")
    import_jsonl(store, corpus, lambda: NOW)
    scen = Scenarios.model_validate(
        {
            "ruptures": [
                {
                    "id": "r",
                    "title": "R",
                    "watch": [{"id": "w", "label": "w", "any": ["météorite"]}],
                }
            ]
        }
    )
    analyser = Analyser(entities=False)
    process_pending(
        store,
        compile_ruleset(scen, analyser),
        accept_all(),
        analyser,
        lambda: NOW,
        batch_size=batch,
        neardup=NearDupParams(window_days=7),
    )
    a = t.articles
    with store.engine.connect() as c:
        url = dict(c.execute(select(a.c.id, a.c.url)).all())
        copies = c.execute(select(a.c.url, a.c.dup_of, a.c.content_hash)).all()
        hashes = {r.url: r.content_hash for r in copies}
    store.dispose()
    return sorted(
        (
            r.url.removeprefix("https://tv.example/"),
            url[r.dup_of].removeprefix("https://tv.example/"),
            hashes[r.url] != hashes[url[r.dup_of]],
        )
        for r in copies
        if r.dup_of is not None
    )


#: Recorded with the per-article queries: (kind of copy, collapsed as near) → report indexes.
#: Every copy is credited to its report's original; a lead-dropped copy of a short report is
#: below the threshold, so kept.
GOLDEN = {
    ("byline", True): [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56],
    ("copy2", True): [0, 7, 14, 42, 56],
    ("exact", False): [0, 6, 12, 18, 24, 30, 36, 42, 48, 54],
    ("late", False): [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55],
    ("lead", True): [0, 3, 15, 18, 21, 24, 27, 33, 36, 42, 45, 48, 51, 54, 57],
}


def test_batched_collapse_gives_the_golden_pairs_on_real_reports(tmp_path: Path) -> None:
    rows = _corpus(_reports(60))
    expected = sorted(
        (f"{i}/{kind}", f"{i}/orig", is_near)
        for (kind, is_near), ids in GOLDEN.items()
        for i in ids
    )
    for batch in (5, 32):  # batches cut through the copies, or hold a copy and its original
        assert _collapse_pairs(tmp_path, rows, batch) == expected, batch
