"""Sentence boundaries from token arrays: the rule sentencizer's, drawn without running spaCy's
component, and those a pipeline marked, read back; and the same rule over token offsets (the
light tokenizer's); all as ``doc.sents`` gives them."""

from __future__ import annotations

import pytest
import spacy
from spacy.lang.lex_attrs import is_punct as spacy_is_punct

from signals.sentencize import (
    RuleSentencizer,
    SpanSentencizer,
    annotated_sentences,
    default_punct_chars,
    is_punct,
)

TRICKY = [
    "",
    "   ",
    "...",
    "Fin.",
    "« Oui ! » dit-il. Puis… rien ?! Rien. ",
    "Le 3.5 % de M. Dupont, p. 12 ; a.b.c. Ensuite\n\nun autre paragraphe",
    "Hello world. Yes! No?? Maybe... ok",
    "Titre sans point\nLe texte suit. » Guillemet fermant. (Parenthèse.) Fin",
    "。日本語の文。もう一つ！",
]


@pytest.mark.parametrize("lang", ["fr", "en", "xx"])
@pytest.mark.parametrize("text", TRICKY)
def test_rule_sentencizer_cuts_where_spacys_component_cuts(lang: str, text: str) -> None:
    nlp = spacy.blank(lang)
    component = nlp.add_pipe("sentencizer")
    rule = RuleSentencizer(component.punct_chars)
    expected = [(s.start_char, s.end_char, [t.orth for t in s]) for s in nlp(text).sents]
    assert list(rule.sentences(nlp.make_doc(text))) == expected
    assert list(annotated_sentences(nlp(text))) == expected


def test_custom_punctuation() -> None:
    nlp = spacy.blank("fr")
    component = nlp.add_pipe("sentencizer", config={"punct_chars": ["|"]})
    rule = RuleSentencizer(component.punct_chars)
    text = "un | deux. trois | quatre"
    expected = [(s.start_char, s.end_char) for s in nlp(text).sents]
    assert [(a, b) for a, b, _ in rule.sentences(nlp.make_doc(text))] == expected
    assert len(expected) == 3


@pytest.mark.parametrize("lang", ["fr", "en", "xx"])
@pytest.mark.parametrize("text", TRICKY)
def test_span_sentencizer_cuts_where_spacys_component_cuts(lang: str, text: str) -> None:
    nlp = spacy.blank(lang)
    nlp.add_pipe("sentencizer")
    spans = [(t.idx, t.idx + len(t)) for t in nlp.make_doc(text)]
    expected = [(s.start_char, s.end_char, [t.text for t in s]) for s in nlp(text).sents]
    assert list(SpanSentencizer(default_punct_chars()).sentences(text, spans)) == expected


def test_is_punct_is_spacys_lexical_attribute() -> None:
    words = ["", ".", "...", "«", "»", "?!", "-", "—", "a", "1", "a.", "%", "$", "'", "’", " "]
    assert [is_punct(w) for w in words] == [spacy_is_punct(w) for w in words]
    assert default_punct_chars() == frozenset(spacy.blank("fr").add_pipe("sentencizer").punct_chars)
