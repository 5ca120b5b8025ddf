"""Sentences of a tokenised spaCy doc, read from its token arrays (no ``Token``/``Span`` objects).

``RuleSentencizer`` draws the boundaries spaCy's rule ``sentencizer`` draws (a sentence ends
after a run of its punctuation characters, at the first token that is neither punctuation nor
one of them), so the tokenizer alone is run on the texts the keys come from: spaCy's component
walks the tokens as Python objects, which cost as much as the tokenizer on short items.
``annotated_sentences`` reads the boundaries a pipeline has already set (the NER model's).
``SpanSentencizer`` draws the same boundaries over token offsets (the light tokenizer's:
``signals.tokenizer``), with no spaCy doc at all.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

#: ``(first char, end char, orth ids of the tokens)`` of a sentence.
SentenceTokens = tuple[int, int, list[int]]
#: ``(first char, end char, texts of the tokens)`` of a sentence.
SentenceTexts = tuple[int, int, list[str]]
#: Distinct token texts whose ``IS_PUNCT`` is kept.
_PUNCT_CACHE = 200_000


def is_punct(text: str) -> bool:
    """spaCy's ``IS_PUNCT`` lexical attribute (``spacy.lang.lex_attrs.is_punct``): every
    character a Unicode punctuation (true of the empty string, as there)."""
    return all(unicodedata.category(c).startswith("P") for c in text)


def default_punct_chars() -> frozenset[str]:
    """The characters spaCy's ``sentencizer`` ends sentences at by default."""
    from spacy.pipeline.sentencizer import Sentencizer  # spaCy itself, not a model or a regex

    return frozenset(Sentencizer.default_punct_chars)


def _columns(doc: Any, *attrs: str) -> list[list[int]]:
    return [col.tolist() for col in doc.to_array(["ORTH", "IDX", "LENGTH", *attrs]).T]


def _spans(
    idx: list[int], length: list[int], orth: list[int], starts: list[int]
) -> Iterator[SentenceTokens]:
    bounds = [*starts, len(orth)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        yield idx[start], idx[end - 1] + length[end - 1], orth[start:end]


class RuleSentencizer:
    """spaCy's ``Sentencizer.predict`` over token arrays, for one set of punctuation characters."""

    def __init__(self, punct_chars: Iterable[str]):
        from spacy.strings import get_string_id  # spaCy is imported when a text is first tokenised

        self._chars = frozenset(punct_chars)
        self._ids = frozenset(get_string_id(c) for c in self._chars)

    def sentences(self, doc: Any) -> Iterator[SentenceTokens]:
        if not len(doc):
            return
        orth, idx, length, is_punct = _columns(doc, "IS_PUNCT")
        ids, chars, strings = self._ids, self._chars, doc.vocab.strings
        starts = [0]
        seen_period = False
        for i, o in enumerate(orth):
            in_chars = o in ids and strings[o] in chars
            if seen_period and not is_punct[i] and not in_chars:
                starts.append(i)
                seen_period = False
            elif in_chars:
                seen_period = True
        yield from _spans(idx, length, orth, starts)


class SpanSentencizer:
    """``RuleSentencizer`` over token offsets into a text: the same boundaries, read from the
    token texts (``tests/test_sentencize.py`` compares them with spaCy's component)."""

    def __init__(self, punct_chars: Iterable[str]):
        self._chars = frozenset(punct_chars)
        self._punct: dict[str, bool] = {}

    def sentences(self, text: str, spans: list[tuple[int, int]]) -> Iterator[SentenceTexts]:
        if not spans:
            return
        words = [text[a:b] for a, b in spans]
        chars, punct = self._chars, self._punct
        if len(punct) > _PUNCT_CACHE:
            punct.clear()
        starts = [0]
        seen_period = False
        for i, w in enumerate(words):
            in_chars = w in chars
            if seen_period and not in_chars:
                p = punct.get(w)
                if p is None:
                    p = punct[w] = is_punct(w)
                if not p:
                    starts.append(i)
                    seen_period = False
            elif in_chars:
                seen_period = True
        bounds = [*starts, len(words)]
        for start, end in zip(bounds, bounds[1:], strict=False):
            yield spans[start][0], spans[end - 1][1], words[start:end]


def annotated_sentences(doc: Any) -> Iterator[SentenceTokens]:
    """The sentences a pipeline's component has marked (``doc.sents``, from the arrays)."""
    if not len(doc):
        return
    if "sents" in doc.user_hooks or not doc.has_annotation("SENT_START"):
        for sent in doc.sents:  # not a sentencizer's doc: spaCy's own way (raises without one)
            yield sent.start_char, sent.end_char, [t.orth for t in sent]
        return
    orth, idx, length, sent_start = _columns(doc, "SENT_START")
    starts = [0, *(i for i in range(1, len(orth)) if sent_start[i] == 1)]
    yield from _spans(idx, length, orth, starts)
