"""Which characters of an article's sentences the matcher matched, so that the digest
highlights exactly what fired (a stem, an inflection, an accent-folded spelling) and nothing
else.

The ``matches`` table keeps one sentence per item, not positions; they are recomputed at digest
time from the stored analysis (the sentences and their keys in ``analyses``) by re-running the
matcher, then mapped from key positions to character offsets by re-tokenising only the hit
sentences (:meth:`signals.analyse.Analyser.key_spans`, no model)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .match import Ruleset
from .models import AnalysedDoc, Sentence

Span = tuple[int, int]  # [start, end) character offsets into a sentence


@dataclass(frozen=True)
class SentenceSpans:
    """One sentence that items hit, with the character spans of their terms in it."""

    index: int  # position of the sentence in the article (-1: not from the stored analysis)
    text: str
    spans: tuple[Span, ...]  # sorted, disjoint
    item_ids: tuple[str, ...]  # the items that hit it
    terms: tuple[str, ...]  # the terms found, as written in scenarios.yaml


def merge_spans(spans: Iterable[Span], length: int) -> tuple[Span, ...]:
    """``spans`` clipped to ``[0, length)``, sorted, with overlapping or touching ones merged;
    empty or inverted spans dropped (spans read back from a JSON file are not trusted)."""
    clipped = sorted((max(0, int(a)), min(length, int(b))) for a, b in spans)
    merged: list[Span] = []
    for a, b in clipped:
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return tuple(merged)


def sentence_spans(
    ruleset: Ruleset, text: str, language: str, item_ids: Sequence[str], index: int = -1
) -> SentenceSpans:
    """The spans of the ``any``/``all`` terms of ``item_ids`` in one sentence.

    The sentence is re-tokenised to know each key's offsets; its keys are the stored ones
    whenever the tokenizer is the one the analysis used (always, short of a normalisation
    change, which re-keys the store anyway)."""
    analyser = ruleset.analyser
    if analyser is None:
        return SentenceSpans(index, text, (), tuple(item_ids), ())
    located = analyser.key_spans(text, language)
    ranges = ruleset.term_ranges(
        Sentence(text, tuple(k for k, _, _ in located)), language, item_ids
    )
    spans = merge_spans(((located[a][1], located[b - 1][2]) for _, a, b in ranges), len(text))
    terms = tuple(dict.fromkeys(ruleset.terms[t] for t, _, _ in ranges))
    return SentenceSpans(index, text, spans, tuple(item_ids), terms)


def matched_sentences(
    ruleset: Ruleset,
    doc: AnalysedDoc | None,
    item_ids: Sequence[str],
    language: str,
    fallback: dict[str, str] | None = None,
) -> tuple[SentenceSpans, ...]:
    """Every sentence of ``doc`` (the stored analysis) that one of ``item_ids`` hits, in article
    order, with those items' term spans.

    An item the current ruleset no longer finds in ``doc`` (matches stored before a YAML edit,
    or no stored analysis) keeps its stored sentence from ``fallback`` (item id → sentence)."""
    hit: dict[int, set[str]] = {}
    if doc is not None:
        language = doc.language
        wanted = set(item_ids)
        for m in ruleset.match_items(doc):
            if m.item_id in wanted:
                for idx in m.sentences:
                    hit.setdefault(idx, set()).add(m.item_id)
    out = []
    for idx in sorted(hit):
        ids = tuple(i for i in item_ids if i in hit[idx])
        out.append(
            sentence_spans(ruleset, doc.sentences[idx].text if doc else "", language, ids, idx)
        )
    found = set().union(*hit.values()) if hit else set()
    known = {s.text for s in out}
    for iid in item_ids:
        text = (fallback or {}).get(iid)
        if iid in found or not text or text in known:
            continue
        known.add(text)
        out.append(sentence_spans(ruleset, text, language, (iid,)))
    return tuple(out)
