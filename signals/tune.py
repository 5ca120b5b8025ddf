"""``signals tune``: how every watch item behaves on a corpus, for analysts editing scenarios.yaml.

For each item: articles matched, weeks with a match, share of the corpus, a few example
sentences; dead items (never match) and noisy ones (match more than ``noisy`` of the articles);
per rupture, articles matched per year, and the words that co-occur most with its evidence and
are not yet terms (candidates to add, ranked by support × log lift against the whole corpus).

Runs on the matcher's keys only (tokenizer + stemmer, no model), so a year of news takes
seconds to minutes; the store is not touched.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from spacy.lang.en.stop_words import STOP_WORDS as EN_STOP
from spacy.lang.fr.stop_words import STOP_WORDS as FR_STOP

from .analyse import Analyser, strip_accents
from .corpus import FIELDS, check_field_map, read_jsonl
from .match import Ruleset
from .models import EVIDENCE_KINDS
from .score import iso_week
from .settings import parse_now

_WORD = re.compile(r"[^\W\d_][\w-]{2,}", re.UNICODE)
_STOP = {strip_accents(w.lower()) for w in FR_STOP | EN_STOP} | {
    "a", "the", "an", "plus", "fait", "faire", "dit", "selon", "ans", "ete", "etre", "avoir", "aussi",
    "comme", "tout", "tous", "toute", "toutes", "bien", "encore", "deja", "notamment", "depuis"}
MAX_EXAMPLES = 3


@dataclass
class ItemStats:
    item_id: str
    rupture_id: str
    kind: str
    label: str
    articles: int = 0
    weeks: int = 0
    share: float = 0.0
    examples: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | dead | noisy
    comment: str | None = None


@dataclass
class RuptureStats:
    rupture_id: str
    evidence_articles: int
    by_year: dict[str, int]
    candidates: list[tuple[str, int, float]]  # word, evidence articles, lift


@dataclass
class TuneReport:
    corpus: str
    articles: int
    weeks: int
    noisy_threshold: float
    items: list[ItemStats]
    ruptures: list[RuptureStats]

    @property
    def dead(self) -> list[ItemStats]:
        return [i for i in self.items if i.status == "dead"]

    @property
    def noisy(self) -> list[ItemStats]:
        return [i for i in self.items if i.status == "noisy"]

    def to_json(self) -> str:
        d = asdict(self)
        d["dead"] = [i.item_id for i in self.dead]
        d["noisy"] = [i.item_id for i in self.noisy]
        return json.dumps(d, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class _Doc:
    text: str
    published: datetime | None
    language: str


def read_corpus(path: Path, field_map: Mapping[str, str], default_language: str = "fr",
                limit: int | None = None, sample: int = 1, skip_invalid: bool = False) -> Iterator[_Doc]:
    """Documents of a JSON Lines corpus (same fields and bad-line policy as ``signals import``:
    a line that is not a JSON object is an error unless ``skip_invalid``). A line with neither
    title nor text has nothing to match and is passed over."""
    check_field_map(field_map)

    def doc(obj: dict[str, Any]) -> _Doc | None:
        rec = {f: obj.get(field_map.get(f, f)) for f in FIELDS}
        text = ".\n".join(str(x).strip() for x in (rec["title"], rec["text"]) if x)
        if not text.strip():
            return None
        published = None
        if isinstance(rec["published"], str):
            try:
                published = parse_now(rec["published"])
            except ValueError:
                published = None  # tune only counts per year: an undated line still counts
        return _Doc(text, published, str(rec["language"] or default_language))

    return read_jsonl(path, doc, skip_invalid, sample=sample, limit=limit)


def _words(text: str) -> set[str]:
    return {w for w in (strip_accents(m.group(0).lower().strip("-")) for m in _WORD.finditer(text))
            if w not in _STOP and len(w) > 2}


def tune(docs: Iterable[_Doc], ruleset: Ruleset, analyser: Analyser, corpus_name: str = "",
         noisy: float = 0.02, candidates: int = 10, min_support: int = 3) -> TuneReport:
    items = {it.item_id: ItemStats(it.item_id, it.rupture_id, str(it.kind), it.label) for it in ruleset.items}
    item_weeks: dict[str, set[str]] = defaultdict(set)
    by_year: dict[str, Counter[str]] = defaultdict(Counter)
    evidence_n: Counter[str] = Counter()
    df_all: Counter[str] = Counter()
    df_ev: dict[str, Counter[str]] = defaultdict(Counter)
    weeks: set[str] = set()
    n = 0
    for doc, analysed in _analysed(docs, analyser):
        n += 1
        week = iso_week(doc.published) if doc.published else None
        if week:
            weeks.add(week)
        words = _words(doc.text)
        df_all.update(words)
        ev_ruptures = set()
        for hit in ruleset.match(analysed):
            st = items[hit.item_id]
            st.articles += 1
            if len(st.examples) < MAX_EXAMPLES:
                st.examples.append(hit.sentence[:300])
            if week:
                item_weeks[hit.item_id].add(week)
            if hit.kind in EVIDENCE_KINDS:
                ev_ruptures.add(hit.rupture_id)
        for rid in ev_ruptures:
            evidence_n[rid] += 1
            df_ev[rid].update(words)
            if doc.published:
                by_year[rid][str(doc.published.year)] += 1
    comments = _item_comments(ruleset)
    for st in items.values():
        st.weeks = len(item_weeks[st.item_id])
        st.share = st.articles / n if n else 0.0
        st.comment = comments.get(st.item_id)
        if st.articles == 0:
            st.status = "dead"
        elif st.share > noisy:
            st.status = "noisy"
    known = _known_words(ruleset)
    ruptures = []
    for r in ruleset.scenarios.ruptures:
        cands: list[tuple[str, int, float]] = []
        ne = evidence_n[r.id]
        if ne:
            for w, k in df_ev[r.id].items():
                if k < min_support or w in known:
                    continue
                lift = (k / ne) / (df_all[w] / n)
                if lift > 1.5:
                    cands.append((w, k, round(lift, 2)))
            cands.sort(key=lambda c: -c[1] * math.log(c[2]))
        ruptures.append(RuptureStats(r.id, ne, dict(sorted(by_year[r.id].items())), cands[:candidates]))
    return TuneReport(corpus_name, n, len(weeks), noisy, list(items.values()), ruptures)


def _analysed(docs: Iterable[_Doc], analyser: Analyser, chunk: int = 512) -> Iterator[tuple[_Doc, Any]]:
    batch: list[_Doc] = []
    for d in docs:
        batch.append(d)
        if len(batch) >= chunk:
            yield from zip(batch, analyser.analyse_many([(x.text, x.language) for x in batch], 256), strict=True)
            batch = []
    if batch:
        yield from zip(batch, analyser.analyse_many([(x.text, x.language) for x in batch], 256), strict=True)


def _item_comments(ruleset: Ruleset) -> dict[str, str]:
    out = {}
    for r in ruleset.scenarios.ruptures:
        for _, it in r.all_items():
            c = getattr(it, "comment", None)
            if c:
                out[it.id] = c
    return out


def _known_words(ruleset: Ruleset) -> set[str]:
    return {w for term in ruleset.terms for w in _words(term)}


def render_text(rep: TuneReport, show_examples: bool = True) -> str:
    lines = [f"corpus: {rep.corpus} — {rep.articles} articles over {rep.weeks} weeks; "
             f"noisy above {rep.noisy_threshold:.1%} of articles", ""]
    by_rupture: dict[str, list[ItemStats]] = defaultdict(list)
    for it in rep.items:
        by_rupture[it.rupture_id].append(it)
    for r in rep.ruptures:
        years = ", ".join(f"{y}: {c}" for y, c in r.by_year.items()) or "—"
        lines.append(f"== {r.rupture_id}: {r.evidence_articles} evidence articles ({years})")
        for it in by_rupture[r.rupture_id]:
            flag = {"dead": "DEAD ", "noisy": "NOISY"}.get(it.status, "     ")
            lines.append(f"  {flag} {it.item_id:38} {it.kind:10} {it.articles:6} art {it.weeks:4} wk "
                         f"{it.share:7.3%}")
            if it.status == "dead" and it.comment:
                lines.append(f"        why it stays: {it.comment}")
            if show_examples and it.status != "dead":
                for ex in it.examples[:2]:
                    lines.append(f"        « {ex[:160]} »")
        if r.candidates:
            lines.append("  co-occurring words (candidates): " +
                         ", ".join(f"{w} ({k}, ×{lift})" for w, k, lift in r.candidates))
        lines.append("")
    lines.append(f"dead items: {len(rep.dead)}; noisy items: {len(rep.noisy)}")
    return "\n".join(lines)
