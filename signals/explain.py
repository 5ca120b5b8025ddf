"""``signals explain``: why one stored article counts (or not) for each rupture.

For every sentence, every term of ``scenarios.yaml`` found in it and what uses that term (rupture,
item, kind, role: ``any`` / ``all`` / ``none`` / ``context``); for every item that fired, its
sentences; for every *near* item (one of its ``any``/``all`` terms is in the article but it did
not fire), the closest sentence and what failed there, following the rule of ``match.py``: a
``none`` term present, no ``any`` term, an ``all`` term missing, the terms further apart than
``within``, or no ``context`` term in the whole article, or fewer sentences hit than
``min_sentences``. Then the article-level judgement
(``judge.py``) per rupture and polarity: score, threshold, accepted, strongest reasons — so an
item that fired but whose rupture stayed below the threshold is visible as such.

:func:`explain_doc` is pure (analysed document + ruleset + judge → :class:`Explanation`);
:func:`explain_stored` reads the article from the store.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass

from .analyse import KEYS_VERSION, Analyser
from .errors import InputError
from .fetch.urls import canonicalize
from .judge import JudgeModel
from .match import CompiledItem, Ruleset, SentenceTerms, min_window
from .models import AnalysedDoc, Judgement, Sentence
from .store import Store, repo

__all__ = ["Explanation", "explain_doc", "explain_stored", "render_text"]


@dataclass(frozen=True)
class TermUse:
    rupture_id: str
    item_id: str
    kind: str  # watch | early_sign | doubt | milestone | announcer
    role: str  # any | all | none | context


@dataclass(frozen=True)
class TermFound:
    term: str
    positions: tuple[int, ...]  # token positions (matcher keys) where it starts
    uses: tuple[TermUse, ...]


@dataclass(frozen=True)
class SentenceReport:
    index: int
    text: str
    terms: tuple[TermFound, ...]


@dataclass(frozen=True)
class ItemReport:
    rupture_id: str
    item_id: str
    kind: str
    label: str
    fired: bool
    sentences: tuple[int, ...]  # fired: the sentences it hit; near: the closest sentence
    terms: tuple[str, ...]  # its own terms found in those sentences
    why_not: tuple[str, ...]  # near items: what failed in the closest sentence


@dataclass(frozen=True)
class JudgementReport:
    rupture_id: str
    polarity: str  # evidence | counter
    score: float
    threshold: float
    accepted: bool
    items: tuple[str, ...]
    reasons: tuple[str, ...]
    stored: bool | None  # what the store holds for this pair (None: nothing stored)


@dataclass(frozen=True)
class ArticleInfo:
    id: int | None
    url: str
    title: str
    published: str | None
    language: str
    sources: tuple[str, ...]
    duplicate_of: int | None = None


@dataclass(frozen=True)
class Explanation:
    article: ArticleInfo
    ruleset_version: str
    judge_version: str
    rupture: str | None  # the --rupture filter
    sentences: tuple[SentenceReport, ...]
    items: tuple[ItemReport, ...]
    judgements: tuple[JudgementReport, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)


def _term_uses(ruleset: Ruleset, rupture: str | None) -> dict[int, list[TermUse]]:
    uses: dict[int, list[TermUse]] = defaultdict(list)
    for it in ruleset.items:
        if rupture is not None and it.rupture_id != rupture:
            continue
        for role in ("any", "all", "none", "context"):
            for t in getattr(it, role):
                uses[t].append(TermUse(it.rupture_id, it.item_id, str(it.kind), role))
    return uses


def _why_not(
    it: CompiledItem, st: SentenceTerms, in_article: set[int], terms: list[str]
) -> list[str]:
    """What stops ``it`` from hitting this sentence (empty: it hits)."""
    pos = st.positions
    out = []
    present_none = [terms[t] for t in it.none if t in pos]
    if present_none:
        out.append("'none' term present: " + ", ".join(f"«{x}»" for x in present_none))
    any_found = [t for t in it.any if t in pos]
    if it.any and not any_found:
        out.append("no 'any' term (one of: " + ", ".join(f"«{terms[t]}»" for t in it.any) + ")")
    missing = [terms[t] for t in it.all if t not in pos]
    if missing:
        out.append("'all' term missing: " + ", ".join(f"«{x}»" for x in missing))
    if it.within is not None and not missing and (any_found or not it.any):
        groups: list[list[int]] = [sorted(p for t in any_found for p in pos[t])] if it.any else []
        groups += [pos[t] for t in it.all]
        span = min_window(groups)
        if span > it.within:
            out.append(f"'within {it.within}': the terms are {span} words apart at best")
    if not out and it.context and not in_article.intersection(it.context):
        out.append(
            "no 'context' term in the article (one of: "
            + ", ".join(f"«{terms[t]}»" for t in it.context)
            + ")"
        )
    return out


def explain_doc(
    doc: AnalysedDoc,
    ruleset: Ruleset,
    judge: JudgeModel,
    article: ArticleInfo,
    rupture: str | None = None,
    stored: list[Judgement] | None = None,
) -> Explanation:
    """The explanation of one analysed document against the ruleset and the judge."""
    if rupture is not None and rupture not in {r.id for r in ruleset.scenarios.ruptures}:
        raise InputError(f"unknown rupture {rupture!r} (see scenarios.yaml)")
    uses = _term_uses(ruleset, rupture)
    per_sentence = [ruleset.find_terms(s, doc.language) for s in doc.sentences]
    in_article: set[int] = set()
    for st in per_sentence:
        in_article.update(st.positions)
    sentences = tuple(
        SentenceReport(
            i,
            st.sentence.text,
            tuple(
                TermFound(ruleset.terms[t], tuple(ps), tuple(uses[t]))
                for t, ps in sorted(st.positions.items(), key=lambda kv: kv[1][0])
                if uses.get(t)
            ),
        )
        for i, st in enumerate(per_sentence)
    )

    matches = ruleset.match_items(doc)
    fired = {m.item_id: m for m in matches}
    items: list[ItemReport] = []
    for it in ruleset.items:
        if rupture is not None and it.rupture_id != rupture:
            continue
        own = set(it.any + it.all)
        m = fired.get(it.item_id)
        if m is not None:
            items.append(
                ItemReport(
                    it.rupture_id,
                    it.item_id,
                    str(it.kind),
                    it.label,
                    True,
                    m.sentences,
                    tuple(ruleset.terms[t] for t in m.terms),
                    (),
                )
            )
            continue
        near = [(i, st) for i, st in enumerate(per_sentence) if own.intersection(st.positions)]
        if not near:
            continue
        best: tuple[int, int, list[str]] | None = None
        hit = 0  # sentences it hits (it did not fire: fewer than ``min_sentences``)
        for i, st in near:
            problems = _why_not(it, st, in_article, ruleset.terms)
            hit += not problems
            if best is None or len(problems) < len(best[2]):
                best = (i, len(own.intersection(st.positions)), problems)
        assert best is not None
        if not best[2]:
            best[2].append(
                f"'min_sentences {it.min_sentences}': it hits {hit} sentence(s) of the article"
            )
        idx = best[0]
        found = tuple(
            ruleset.terms[t] for t in sorted(own.intersection(per_sentence[idx].positions))
        )
        items.append(
            ItemReport(
                it.rupture_id,
                it.item_id,
                str(it.kind),
                it.label,
                False,
                (idx,),
                found,
                tuple(best[2]),
            )
        )

    stored_by = {(j.rupture_id, str(j.polarity)): j.accepted for j in (stored or [])}
    judgements = []
    for c in judge.measure(doc, matches, ruleset.vocabulary(doc.language)):
        if rupture is not None and c.rupture_id != rupture:
            continue
        j = judge.judge(c)
        judgements.append(
            JudgementReport(
                c.rupture_id,
                str(c.polarity),
                j.score,
                judge.models[c.polarity].threshold_for(c.rupture_id),
                j.accepted,
                tuple(m.item_id for m in c.items),
                j.reasons,
                stored_by.get((c.rupture_id, str(c.polarity))) if stored is not None else None,
            )
        )
    return Explanation(
        article, ruleset.version, judge.version, rupture, sentences, tuple(items), tuple(judgements)
    )


def explain_stored(
    store: Store,
    key: str,
    ruleset: Ruleset,
    judge: JudgeModel,
    analyser: Analyser,
    rupture: str | None = None,
) -> Explanation:
    """Explain the stored article ``key`` (its id, or its URL as given or canonical)."""
    key = key.strip()
    with store.engine.connect() as conn:
        if key.isdigit():
            ref = repo.find_article(conn, article_id=int(key))
        else:
            canon = canonicalize(key)
            ref = repo.find_article(conn, urls=[key, *([canon] if canon and canon != key else [])])
        if ref is None:
            raise InputError(f"no stored article {key!r} (give its id or its URL)")
        original = ref
        if ref.dup_of is not None:  # a collapsed copy: its original carries the analysis
            original = repo.find_article(conn, article_id=ref.dup_of) or ref
        analyses = repo.stored_analyses(conn, [original.id])
        stored = repo.article_judgements(conn, original.id)
    if not analyses:
        raise InputError(
            f"article {ref.id} is not analysed yet (state: {ref.state}); run `signals process`"
        )
    row = analyses[0]
    sentences = row.sentences
    if row.keys_version != KEYS_VERSION:
        sentences = [
            (text, " ".join(analyser.term_keys(text, row.language))) for text, _ in row.sentences
        ]
    doc = AnalysedDoc(
        row.language, tuple(Sentence(text, tuple(keys.split())) for text, keys in sentences)
    )
    info = ArticleInfo(
        ref.id,
        ref.url,
        ref.title,
        ref.published_at.date().isoformat(),
        row.language,
        ref.sources,
        ref.dup_of,
    )
    return explain_doc(doc, ruleset, judge, info, rupture, stored)


def _kind(kind: str) -> str:
    return {"watch": "signal", "early_sign": "early sign", "doubt": "doubt"}.get(kind, kind)


def render_text(ex: Explanation) -> str:
    a = ex.article
    lines = [
        f"article {a.id}: {a.title}",
        f"  {a.url}",
        f"  published {a.published or '?'} · language {a.language} · sources: {', '.join(a.sources) or '-'}",
    ]
    if a.duplicate_of is not None:
        lines.append(f"  a copy of article {a.duplicate_of}: explained through the original's text")
    lines.append(
        f"  ruleset {ex.ruleset_version} · judge {ex.judge_version}"
        + (f" · rupture {ex.rupture}" if ex.rupture else "")
    )
    with_terms = [s for s in ex.sentences if s.terms]
    lines += ["", f"sentences with watch terms ({len(with_terms)} of {len(ex.sentences)}):"]
    for s in with_terms:
        lines.append(f"  [{s.index}] {s.text[:300]}")
        for tf in s.terms:
            roles = "; ".join(
                f"{u.rupture_id}/{u.item_id} ({_kind(u.kind)}, {u.role})" for u in tf.uses
            )
            lines.append(f"        «{tf.term}» → {roles}")
    lines += ["", "items:"]
    if not ex.items:
        lines.append("  none fired, none near (no term of an item's any/all in the article)")
    for it in sorted(ex.items, key=lambda i: (not i.fired, i.rupture_id, i.item_id)):
        where = ", ".join(str(i) for i in it.sentences)
        head = (
            f"  {'FIRED' if it.fired else 'near '} {it.rupture_id}/{it.item_id} ({_kind(it.kind)})"
        )
        if it.fired:
            lines.append(f"{head}: sentence(s) {where}; terms: {', '.join(it.terms)}")
        else:
            lines.append(f"{head}: closest sentence {where}: {'; '.join(it.why_not) or '?'}")
    lines += ["", "article-level judgement (evidence score per rupture):"]
    if not ex.judgements:
        lines.append("  no candidate: no evidence or doubt item fired")
    for j in ex.judgements:
        verdict = "counted" if j.accepted else "below the threshold: not counted"
        stored = (
            ""
            if j.stored is None or j.stored == j.accepted
            else f" (the store says {'counted' if j.stored else 'not counted'}: not re-matched yet)"
        )
        lines.append(
            f"  {j.rupture_id} {j.polarity}: score {j.score:.2f} "
            f"{'≥' if j.accepted else '<'} {j.threshold:.2f} → {verdict}{stored}"
        )
        lines.append(f"      items: {', '.join(j.items)}; reasons: {', '.join(j.reasons) or '-'}")
    return "\n".join(lines)
