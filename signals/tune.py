"""``signals tune``: how every watch item behaves on a corpus, for analysts editing scenarios.yaml.

For each item: articles matched, weeks with a match, share of the corpus, a few example
sentences; dead items (never match) and noisy ones (match more than ``noisy`` of the articles);
per rupture, articles matched per year, and the words that co-occur most with its evidence and
are not yet terms (candidates to add). Examples carry their article (title, date, URL).

Candidates are ranked by the log-odds ratio with an informative Dirichlet prior (Monroe, Colaresi
& Quinn 2008, "Fightin' Words"): evidence articles against all the others, the prior being the
word's share of the whole corpus (or store), so a word frequent everywhere ("monde") or seen in a
handful of articles scores near zero; the z-score of that ratio orders the list. Function words
(spaCy's list for the article's language) and news boilerplate ("tribune", "abonnés", weekdays…)
are never candidates.

Runs on a JSON Lines corpus (``--corpus``, tokenizer + stemmer, no model) or on the database's
stored analyses (no re-analysis at all); the store is not written.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .analyse import KEYS_VERSION, Analyser
from .corpus import FIELDS, check_field_map, read_jsonl
from .keyness import MIN_Z, log_odds_z
from .keyness import content_words as _words
from .match import Ruleset
from .models import EVIDENCE_KINDS, AnalysedDoc, Sentence
from .score import iso_week
from .settings import parse_now
from .store import Store, repo

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
    example_articles: list[ExampleArticle] = field(default_factory=list)  # the examples' articles


@dataclass(frozen=True)
class ExampleArticle:
    title: str
    published: str | None  # ISO date
    url: str | None


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
    title: str = ""
    url: str | None = None


def read_corpus(
    path: Path,
    field_map: Mapping[str, str],
    default_language: str = "fr",
    limit: int | None = None,
    sample: int = 1,
    skip_invalid: bool = False,
) -> Iterator[_Doc]:
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
        url = (
            rec["url"]
            if isinstance(rec["url"], str) and rec["url"].startswith(("http://", "https://"))
            else None
        )
        return _Doc(
            text, published, str(rec["language"] or default_language), str(rec["title"] or ""), url
        )

    return read_jsonl(path, doc, skip_invalid, sample=sample, limit=limit)


def stored_docs(
    store: Store, analyser: Analyser, limit: int | None = None, sample: int = 1
) -> Iterator[tuple[_Doc, AnalysedDoc]]:
    """The database's analysed articles (copies collapsed), with their stored analyses."""
    after, n, seen = 0, 0, 0
    while True:
        with store.engine.connect() as conn:
            rows = repo.iter_analyses(conn, after, 500)
            refs = repo.article_refs(conn, [r.article_id for r in rows])
        if not rows:
            return
        for row in rows:
            after = row.article_id
            ref = refs.get(row.article_id)
            if ref is None or ref.dup_of is not None:
                continue
            seen += 1
            if (seen - 1) % sample:
                continue
            sentences = row.sentences
            if row.keys_version != KEYS_VERSION:
                sentences = [
                    (text, " ".join(analyser.term_keys(text, row.language)))
                    for text, _ in sentences
                ]
            doc = AnalysedDoc(
                row.language, tuple(Sentence(t, tuple(k.split())) for t, k in sentences)
            )
            yield (
                _Doc(
                    " ".join(t for t, _ in sentences),
                    ref.published_at,
                    row.language,
                    ref.title,
                    ref.url,
                ),
                doc,
            )
            n += 1
            if limit is not None and n >= limit:
                return


def tune(
    docs: Iterable[_Doc],
    ruleset: Ruleset,
    analyser: Analyser,
    corpus_name: str = "",
    noisy: float = 0.02,
    candidates: int = 10,
    min_support: int = 3,
) -> TuneReport:
    """The report over documents of a corpus (analysed here, keys only)."""
    return tune_analysed(
        _analysed(docs, analyser), ruleset, corpus_name, noisy, candidates, min_support
    )


def tune_analysed(
    pairs: Iterable[tuple[_Doc, AnalysedDoc]],
    ruleset: Ruleset,
    corpus_name: str = "",
    noisy: float = 0.02,
    candidates: int = 10,
    min_support: int = 3,
) -> TuneReport:
    """The report over already analysed documents (the database's, or a corpus's)."""
    items = {
        it.item_id: ItemStats(it.item_id, it.rupture_id, str(it.kind), it.label)
        for it in ruleset.items
    }
    item_weeks: dict[str, set[str]] = defaultdict(set)
    by_year: dict[str, Counter[str]] = defaultdict(Counter)
    evidence_n: Counter[str] = Counter()
    df_all: Counter[str] = Counter()
    df_ev: dict[str, Counter[str]] = defaultdict(Counter)
    weeks: set[str] = set()
    n = 0
    for doc, analysed in pairs:
        n += 1
        week = iso_week(doc.published) if doc.published else None
        if week:
            weeks.add(week)
        words = _words(doc.text, doc.language)
        df_all.update(words)
        ev_ruptures = set()
        for hit in ruleset.match(analysed):
            st = items[hit.item_id]
            st.articles += 1
            if len(st.examples) < MAX_EXAMPLES:
                st.examples.append(hit.sentence[:300])
                st.example_articles.append(
                    ExampleArticle(
                        doc.title,
                        doc.published.date().isoformat() if doc.published else None,
                        doc.url,
                    )
                )
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
            ranked: list[tuple[float, str, int, float]] = []
            for w, k in df_ev[r.id].items():
                if k < min_support or w in known:
                    continue
                delta, z = log_odds_z(k, ne, df_all[w], n)
                if delta > 0 and z >= MIN_Z:
                    ranked.append((z, w, k, round((k / ne) / (df_all[w] / n), 2)))
            ranked.sort(key=lambda c: (-c[0], c[1]))
            cands = [(w, k, lift) for _, w, k, lift in ranked]
        ruptures.append(
            RuptureStats(r.id, ne, dict(sorted(by_year[r.id].items())), cands[:candidates])
        )
    return TuneReport(corpus_name, n, len(weeks), noisy, list(items.values()), ruptures)


def _analysed(
    docs: Iterable[_Doc], analyser: Analyser, chunk: int = 512
) -> Iterator[tuple[_Doc, Any]]:
    batch: list[_Doc] = []
    for d in docs:
        batch.append(d)
        if len(batch) >= chunk:
            yield from zip(
                batch,
                analyser.analyse_many([(x.text, x.language) for x in batch], 256),
                strict=True,
            )
            batch = []
    if batch:
        yield from zip(
            batch, analyser.analyse_many([(x.text, x.language) for x in batch], 256), strict=True
        )


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


def _link(art: ExampleArticle, hyperlinks: bool) -> str:
    """ " — title (date) <url>"; with ``hyperlinks`` (a terminal) the title is an OSC 8 link."""
    title = " ".join(art.title.split())[:90] or "(untitled)"
    date = f" ({art.published})" if art.published else ""
    if not art.url:
        return f" — {title}{date}"
    if hyperlinks:
        return f" — \x1b]8;;{art.url}\x1b\\{title}\x1b]8;;\x1b\\{date}"
    return f" — {title}{date} <{art.url}>"


def render_text(rep: TuneReport, show_examples: bool = True, links: bool = False) -> str:
    lines = [
        f"corpus: {rep.corpus} — {rep.articles} articles over {rep.weeks} weeks; "
        f"noisy above {rep.noisy_threshold:.1%} of articles",
        "",
    ]
    by_rupture: dict[str, list[ItemStats]] = defaultdict(list)
    for it in rep.items:
        by_rupture[it.rupture_id].append(it)
    for r in rep.ruptures:
        years = ", ".join(f"{y}: {c}" for y, c in r.by_year.items()) or "—"
        lines.append(f"== {r.rupture_id}: {r.evidence_articles} evidence articles ({years})")
        for it in by_rupture[r.rupture_id]:
            flag = {"dead": "DEAD ", "noisy": "NOISY"}.get(it.status, "     ")
            lines.append(
                f"  {flag} {it.item_id:38} {it.kind:10} {it.articles:6} art {it.weeks:4} wk "
                f"{it.share:7.3%}"
            )
            if it.status == "dead" and it.comment:
                lines.append(f"        why it stays: {it.comment}")
            if show_examples and it.status != "dead":
                for i, ex in enumerate(it.examples[:2]):
                    art = it.example_articles[i] if i < len(it.example_articles) else None
                    lines.append(f"        « {ex[:160]} »" + (_link(art, links) if art else ""))
        if r.candidates:
            lines.append(
                "  co-occurring words (candidates): "
                + ", ".join(f"{w} ({k}, ×{lift})" for w, k, lift in r.candidates)
            )
        lines.append("")
    lines.append(f"dead items: {len(rep.dead)}; noisy items: {len(rep.noisy)}")
    return "\n".join(lines)
