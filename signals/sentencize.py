"""Sentences of a tokenised spaCy doc, read from its token arrays (no ``Token``/``Span`` objects).

``RuleSentencizer`` draws the boundaries spaCy's rule ``sentencizer`` draws (a sentence ends
after a run of its punctuation characters, at the first token that is neither punctuation nor
one of them), so the tokenizer alone is run on the texts the keys come from: spaCy's component
walks the tokens as Python objects, which cost as much as the tokenizer on short items.
``annotated_sentences`` reads the boundaries a pipeline has already set (the NER model's).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

#: ``(first char, end char, orth ids of the tokens)`` of a sentence.
SentenceTokens = tuple[int, int, list[int]]


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
