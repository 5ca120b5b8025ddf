"""Text → sentences, normalised token keys and named entities.

Two layers, on purpose:

* **Keys** (what the matcher compares) come from spaCy's rule-based tokenizer (its light copy,
  ``signals.tokenizer``: the same offsets, every chunk cached) and the rule sentencizer's
  boundaries (drawn from the token texts or arrays: ``signals.sentencize``) plus a
  context-free normalisation: lowercase → Snowball stem for the language → accents
  stripped, hyphenated words split, a few function words dropped. Because it is context-free,
  a term in ``scenarios.yaml`` and a word in an article normalise identically ("monnaies
  locales" = "monnaie locale" = "MONNAIE LOCALE"), and re-matching history after a YAML edit
  needs only the stored keys, never the model. (spaCy's lookup lemmas were measured to be
  inconsistent out of context — "monnaies" → "monnayer" but "monnaie" → "monnaie" — and rule
  lemmas need the morphologizer, doubling the cost; see docs/DECISIONS.md.)
* **Entities** come from ``fr_core_news_sm`` with only ``tok2vec`` and ``ner`` enabled, for
  French text. Other languages get keys only (no model download at run time).

The model is loaded once per ``Analyser`` (i.e. once per process), and spaCy itself is imported
only when a text is first tokenised: a start-up with nothing to analyse never pays for it.
"""

from __future__ import annotations

import gc
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import snowballstemmer

from .languages import SNOWBALL, SUPPORTED_LANGUAGES, UNSTEMMED, language_code
from .models import AnalysedDoc, Entity, Sentence
from .sentencize import (
    RuleSentencizer,
    SentenceTokens,
    SpanSentencizer,
    annotated_sentences,
    default_punct_chars,
)

if TYPE_CHECKING:
    from spacy.language import Language

    from .tokenizer import LightTokenizer

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Bump when the key normalisation changes: stored keys are then recomputed.
KEYS_VERSION = "k3"
MAX_CHARS = 100_000
#: Distinct token texts whose keys are kept per language (news vocabularies are small).
_CACHE = 200_000
#: One Snowball stemmer per supported language (``languages.SUPPORTED_LANGUAGES``), none for others.
_STEMMERS = {lang: SNOWBALL[lang] for lang in SUPPORTED_LANGUAGES}
#: Articles and the like, ignored inside phrases; per language ("a" is a verb in French).
_FUNCTION_WORDS = {
    "fr": frozenset(["le", "la", "les", "un", "une", "des", "du", "de", "au", "aux"]),
    "en": frozenset(["the", "a", "an", "of"]),
}
_ELIDED = frozenset(
    ["l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"]
)  # l', d', qu'… before a vowel
_SPLIT = re.compile(r"[-‐‑‒–—_/]+")
_APOSTROPHE = re.compile(r"['’]")
#: Key of a punctuation token that ends a phrase: terms never match across it.
BREAK = "|"
_BREAKERS = frozenset([*',;:()[]{}«»"“”!?.…', "—", "–"])
_WORDY = re.compile(r"\w", re.UNICODE)
_ENTITY_LABELS = {
    "PER": "PER",
    "PERSON": "PER",
    "ORG": "ORG",
    "LOC": "LOC",
    "GPE": "LOC",
    "MISC": "MISC",
}


class _CombiningMarks(dict[int, int | None]):
    """``str.translate`` table deleting combining marks, filled as characters are met."""

    def __missing__(self, cp: int) -> int | None:
        out = None if unicodedata.combining(chr(cp)) else cp
        self[cp] = out
        return out


_MARKS = _CombiningMarks()


def strip_accents(s: str) -> str:
    """``s`` in NFKD without its combining marks ("é" → "e", "ﬁ" → "fi")."""
    return unicodedata.normalize("NFKD", s).translate(_MARKS)


def _cached_keys(
    cache: dict[_T, tuple[str, ...]], tokens: Iterable[_T], compute: Callable[[_T], tuple[str, ...]]
) -> tuple[str, ...]:
    """The keys of ``tokens`` in order, each token's looked up in ``cache`` (cleared when
    full) or computed once."""
    if len(cache) > _CACHE:
        cache.clear()
    out: list[str] = []
    for token in tokens:
        keys = cache.get(token)
        if keys is None:
            keys = cache[token] = compute(token)
        out.extend(keys)
    return tuple(out)


def _sentences(
    text: str, parts: Iterable[tuple[int, int, tuple[str, ...]]]
) -> tuple[Sentence, ...]:
    """``(start char, end char, keys)`` of each sentence of ``text`` → the sentences, their text
    sliced from ``text`` with whitespace collapsed; blank ones dropped."""
    out = []
    for start_char, end_char, keys in parts:
        sentence = " ".join(text[start_char:end_char].split())
        if sentence:
            out.append(Sentence(text=sentence, keys=keys))
    return tuple(out)


class _Normaliser:
    """Token text → keys for one language (cached: news vocabularies are small)."""

    def __init__(self, language: str):
        algo = _STEMMERS.get(language)
        self._stemmer = snowballstemmer.stemmer(algo) if algo else None
        self._function_words = _FUNCTION_WORDS.get(language, frozenset())
        self.key = lru_cache(maxsize=_CACHE)(self._key)
        self._by_orth: dict[int, tuple[str, ...]] = {}
        self._by_text: dict[str, tuple[str, ...]] = {}

    def keys_of(self, orths: Iterable[int], strings: Any) -> tuple[str, ...]:
        """Keys of tokens given by their spaCy orth ids (``strings``: the vocab's string store),
        cached by id: no ``Token`` object and no string lookup for a word seen before."""
        return _cached_keys(self._by_orth, orths, lambda orth: self.key(strings[orth]))

    def keys_of_texts(self, words: Iterable[str]) -> tuple[str, ...]:
        """Keys of tokens given by their texts (the light tokenizer's), cached by text."""
        return _cached_keys(self._by_text, words, self.key)

    def _key(self, token: str) -> tuple[str, ...]:
        if token in _BREAKERS:
            return (BREAK,)
        out = []
        for piece in _SPLIT.split(token.lower()):
            parts = _APOSTROPHE.split(piece)
            for i, part in enumerate(parts):
                if not part or not _WORDY.search(part) or part in self._function_words:
                    continue
                if i < len(parts) - 1 and part in _ELIDED:  # "l'", "d'": elided articles
                    continue
                stem = self._stemmer.stemWord(part) if self._stemmer else part
                out.append(strip_accents(stem))
        return tuple(out)


@lru_cache(maxsize=2)
def _load_ner_model(name: str) -> Language:
    """The model with only what we use (tok2vec + ner) plus a rule sentencizer; once per process."""
    import spacy

    nlp = spacy.load(
        name, exclude=["morphologizer", "parser", "attribute_ruler", "lemmatizer", "senter"]
    )
    nlp.add_pipe("sentencizer", first=True)
    log.debug("loaded %s with %s", name, nlp.pipe_names)
    _freeze_heap()
    return nlp


def _freeze_heap() -> None:
    """Move what is alive now (a model just loaded) out of the garbage collector's reach: the
    objects are kept for the process's life, and each full collection walked them all (0.1 s
    each, a few times per 2,000 articles). At worst the garbage of the moment is never freed."""
    gc.freeze()


def _language_code(language: str | None) -> str:
    return language_code(language) or UNSTEMMED


class Analyser:
    """Load once, analyse many. ``entities=False`` skips the model (keys only: tuning, tests)."""

    def __init__(
        self,
        entities: bool = True,
        model: str = "fr_core_news_sm",
        tokenizer_cache: Path | None = None,
    ):
        self._entities = entities
        self._model_name = model
        self._blank: dict[str, Language] = {}
        self._tokenizer_cache = tokenizer_cache
        self._light: dict[str, LightTokenizer | None] = {}
        self._norm: dict[str, _Normaliser] = {}
        self._ner: Language | None = None
        self._rules: dict[int, RuleSentencizer] = {}
        self._span_sentencizer: SpanSentencizer | None = None

    # -- components, created on first use
    def _tokenizer_nlp(self, lang: str) -> Language:
        nlp = self._blank.get(lang)
        if nlp is None:
            import spacy  # deferred: seconds of start-up a cached ruleset and an idle run never need

            try:
                nlp = spacy.blank(lang)
            except Exception:  # unknown language code in spaCy
                nlp = spacy.blank("xx")
            nlp.add_pipe("sentencizer")
            self._blank[lang] = nlp
            _freeze_heap()
        return nlp

    def _token_spans(self, text: str, lang: str) -> list[tuple[int, int]]:
        """``(start, end)`` of the tokens of ``text``: the light copy of spaCy's tokenizer for
        ``lang`` (:mod:`signals.tokenizer`: the same offsets, its chunks cached), or spaCy's
        own for a language whose rules it cannot copy."""
        light = self._light_tokenizer(lang)
        if light is not None:
            return light.spans(text)
        return [(t.idx, t.idx + len(t.text)) for t in self._tokenizer_nlp(lang).make_doc(text)]

    def _light_tokenizer(self, lang: str) -> LightTokenizer | None:
        """The light tokenizer of ``lang``: its rules read from the ``tokenizer_cache``
        directory when one is given (no spaCy regex compile of seconds), else from spaCy."""
        if lang not in self._light:
            from .tokenizer import LightTokenizer, load_rules, rules_from_spacy

            try:
                if self._tokenizer_cache is None:
                    rules = rules_from_spacy(self._tokenizer_nlp(lang).tokenizer, lang)
                else:
                    rules = load_rules(
                        lang, self._tokenizer_cache, lambda: self._tokenizer_nlp(lang).tokenizer
                    )
                self._light[lang] = LightTokenizer(rules)
            except ValueError as e:
                log.debug("no light tokenizer for %r (%s): spaCy's is used", lang, e)
                self._light[lang] = None
        return self._light[lang]

    def _ner_nlp(self) -> Language:
        if self._ner is None:
            self._ner = _load_ner_model(self._model_name)
        return self._ner

    def preload(self) -> None:
        """Load now what the first French texts would: the French tokenizer (the light copy's
        rules, or spaCy's regular expressions: seconds of CPU), and the NER model if every
        text goes through it. Before forking workers, so that they share one load instead of
        each paying its own."""
        if self._entities:
            self._ner_nlp()
        elif self._light_tokenizer("fr") is None:
            self._tokenizer_nlp("fr")

    def normaliser(self, language: str | None) -> _Normaliser:
        lang = _language_code(language)
        norm = self._norm.get(lang)
        if norm is None:
            norm = self._norm[lang] = _Normaliser(lang)
        return norm

    def _pipeline_for(self, lang: str) -> Language:
        return self._ner_nlp() if (self._entities and lang == "fr") else self._tokenizer_nlp(lang)

    # -- public API
    def term_keys(self, term: str, language: str | None) -> tuple[str, ...]:
        """Keys of a watch term, normalised exactly as article text in ``language`` is."""
        norm = self.normaliser(language)
        spans = self._token_spans(term, _language_code(language))
        return tuple(k for a, b in spans for k in norm.key(term[a:b]))

    def key_spans(self, text: str, language: str | None) -> tuple[tuple[str, int, int], ...]:
        """``text``'s keys, each with the ``[start, end)`` character span of the token it came
        from: what maps the matcher's key positions back onto the text (highlighting)."""
        norm = self.normaliser(language)
        spans = self._token_spans(text, _language_code(language))
        return tuple((k, a, b) for a, b in spans for k in norm.key(text[a:b]))

    def entities(self, texts: Iterable[str], batch_size: int = 16) -> Iterator[tuple[Entity, ...]]:
        """Named entities of each text with the NER model (loaded on first use): only the few
        articles that become evidence pay for it."""
        nlp = self._ner_nlp()
        for doc in nlp.pipe((t[:MAX_CHARS] for t in texts), batch_size=batch_size):
            yield self._entities_of(doc)

    def analyse(self, text: str, language: str | None) -> AnalysedDoc:
        return next(self.analyse_many([(text, language)]))

    def analyse_many(
        self, items: Iterable[tuple[str, str | None]], batch_size: int = 32
    ) -> Iterator[AnalysedDoc]:
        """Analyse texts in order. Keys only: each text through the light tokenizer (spaCy's
        offsets, its chunks cached), no spaCy doc; with the model, or for a language the light
        tokenizer cannot copy, consecutive texts of the same spaCy pipeline are batched."""
        batch: list[tuple[str, str]] = []
        current: Language | None = None
        for text, language in items:
            lang = _language_code(language)
            light = None if (self._entities and lang == "fr") else self._light_tokenizer(lang)
            if light is not None:
                if current is not None and batch:
                    yield from self._run(current, batch, batch_size)
                    batch, current = [], None
                yield self._analyse_light(light, text[:MAX_CHARS], lang)
                continue
            nlp = self._pipeline_for(lang)
            if current is not None and (nlp is not current or len(batch) >= batch_size):
                yield from self._run(current, batch, batch_size)
                batch = []
            current = nlp
            batch.append((text[:MAX_CHARS], lang))
        if current is not None and batch:
            yield from self._run(current, batch, batch_size)

    def _analyse_light(self, light: LightTokenizer, text: str, lang: str) -> AnalysedDoc:
        """Sentences and keys from the light tokenizer's offsets: the rule sentencizer's
        boundaries and the keys read from the token texts (what :meth:`_run` gives)."""
        if self._span_sentencizer is None:
            self._span_sentencizer = SpanSentencizer(default_punct_chars())
        norm = self.normaliser(lang)
        parts = self._span_sentencizer.sentences(text, light.spans(text))
        return AnalysedDoc(
            language=lang,
            sentences=_sentences(text, ((a, b, norm.keys_of_texts(w)) for a, b, w in parts)),
            entities=(),
        )

    def _run(
        self, nlp: Language, batch: list[tuple[str, str]], batch_size: int
    ) -> Iterator[AnalysedDoc]:
        texts = [t for t, _ in batch]
        if nlp is self._ner:  # the model's pipeline marks the sentences (and the entities)
            for doc, (text, lang) in zip(
                nlp.pipe(texts, batch_size=batch_size), batch, strict=True
            ):
                yield self._convert(doc, text, lang, annotated_sentences(doc))
            return
        # spaCy's tokenizer, the rule sentencizer's boundaries drawn from the arrays
        rule = self._rule_sentencizer(nlp)
        tokenizer: Any = nlp.tokenizer
        for doc, (text, lang) in zip(tokenizer.pipe(texts, batch_size), batch, strict=True):
            yield self._convert(doc, text, lang, rule.sentences(doc))

    def _rule_sentencizer(self, nlp: Language) -> RuleSentencizer:
        rule = self._rules.get(id(nlp))
        if rule is None:
            punct = nlp.get_pipe("sentencizer").punct_chars  # type: ignore[attr-defined]
            rule = self._rules[id(nlp)] = RuleSentencizer(punct)
        return rule

    def _convert(
        self, doc: Any, text: str, lang: str, sentence_tokens: Iterable[SentenceTokens]
    ) -> AnalysedDoc:
        """Sentences and keys from the doc's token arrays: no ``Token``/``Span`` object per token
        or sentence, and the sentence text sliced from ``text`` (spaCy's tokenizer loses no
        character, so ``doc.text`` is ``text``); what ``doc.sents`` and ``tok.text`` give."""
        norm = self.normaliser(lang)
        strings = doc.vocab.strings
        parts = ((a, b, norm.keys_of(orths, strings)) for a, b, orths in sentence_tokens)
        return AnalysedDoc(
            language=lang, sentences=_sentences(text, parts), entities=self._entities_of(doc)
        )

    @staticmethod
    def _entities_of(doc: Any) -> tuple[Entity, ...]:
        entities: list[Entity] = []
        if doc.has_annotation("ENT_IOB"):
            for ent in doc.ents:
                name = " ".join(ent.text.split())
                if len(name) >= 2 and _WORDY.search(name):
                    entities.append(Entity(text=name, label=_ENTITY_LABELS.get(ent.label_, "MISC")))
        return tuple(entities)
