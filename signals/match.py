"""Compile ``scenarios.yaml`` into a phrase matcher, and match analysed documents (pure).

Every term becomes a tuple of normalised keys (see ``analyse.py``), indexed by its first key and
its length, so matching a sentence costs one dictionary lookup per token plus one per distinct
length of the terms that start with that key: the cost does not grow with the number of terms.

An item hits a sentence when (one ``any`` term is in it, if ``any`` is given) and (every ``all``
term is in it, all within ``within`` tokens if given) and (no ``none`` term is in it); an item
with ``context`` also needs one context term somewhere in the article. An article gets at most
one hit per item, carrying the sentence with the most distinct matched terms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .analyse import BREAK, KEYS_VERSION, Analyser
from .config import Announcer, Milestone, Rupture, Scenarios, fingerprint_of
from .errors import ConfigError, ConfigProblem
from .languages import SUPPORTED_LANGUAGES, UNSTEMMED, index_language
from .models import AnalysedDoc, Hit, ItemKind, ItemMatch, Sentence

#: Every key space the terms are indexed in: one per supported language, plus unstemmed.
LANGUAGES = (*SUPPORTED_LANGUAGES, UNSTEMMED)
#: A term key shared by more ruptures than this is not distinctive of any (``Ruleset.vocabulary``).
VOCABULARY_MAX_RUPTURES = 2
#: Indexed at compile time (its problems are the ruleset's errors); the others on first use.
VALIDATED = "fr"


@dataclass(frozen=True)
class CompiledItem:
    rupture_id: str
    item_id: str
    kind: ItemKind
    label: str
    weight: float
    any: tuple[int, ...]  # term ids
    all: tuple[int, ...]
    none: tuple[int, ...]
    context: tuple[int, ...]
    within: int | None
    min_sentences: int = 1  # distinct sentences the item must hit in the article


@dataclass
class _Index:
    """Terms by first key (``by_first``: what is built and validated), and the same grouped for
    matching (``by_keys``, made by ``freeze``): first key → ``(length, {keys: term ids})`` per
    length of the terms that start with it. A sentence position then costs one dictionary
    lookup per distinct term length, however many terms share its first key."""

    by_first: dict[str, list[tuple[int, tuple[str, ...]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    by_keys: dict[str, tuple[tuple[int, dict[tuple[str, ...], tuple[int, ...]]], ...]] = field(
        default_factory=dict
    )

    def freeze(self) -> _Index:
        for first, entries in self.by_first.items():
            tables: dict[int, dict[tuple[str, ...], list[int]]] = {}
            for term_id, keys in entries:
                tables.setdefault(len(keys), {}).setdefault(keys, []).append(term_id)
            self.by_keys[first] = tuple(
                (n, {k: tuple(ids) for k, ids in table.items()})
                for n, table in sorted(tables.items())
            )
        return self

    def occurrences(self, keys: tuple[str, ...]) -> list[tuple[int, int, int]]:
        """``(position, term id, length)`` of every term occurrence in ``keys``, ordered by
        position then term id (the order a scan of each position's terms found them in)."""
        by_keys = self.by_keys
        out: list[tuple[int, int, int]] = []
        for i, k in enumerate(keys):
            groups = by_keys.get(k)
            if groups is not None:
                for n, table in groups:
                    ids = table.get(keys[i : i + n])
                    if ids:
                        out.extend((i, term_id, n) for term_id in ids)
        out.sort()
        return out


@dataclass(frozen=True)
class SentenceTerms:
    """Terms found in one sentence: term id → token positions where they start."""

    sentence: Sentence
    positions: dict[int, list[int]]


def ruleset_version(fingerprint: str) -> str:
    """What stored matches were computed with: the scenarios (their fingerprint) and the key
    normalisation."""
    return f"{fingerprint}-{KEYS_VERSION}"


class Ruleset:
    """Compiled items and term indexes. The index of a language is built on its first use
    (with ``analyser``), so start-up pays only for the languages the articles are in."""

    def __init__(
        self,
        scenarios: Scenarios,
        items: list[CompiledItem],
        terms: list[str],
        indexes: dict[str, _Index],
        analyser: Analyser | None = None,
    ):
        self.scenarios = scenarios
        self.analyser = (
            analyser  # to locate matched terms in sentences (signals.spans), to index terms
        )
        self.items = items
        self.terms = terms  # term id → original text
        self._indexes = dict(indexes)
        # what the store records as applied (signals.rematch), computed once per compile
        self.scenarios_json = scenarios.canonical_json()
        self.version = ruleset_version(fingerprint_of(self.scenarios_json))
        self.item_by_id = {it.item_id: it for it in items}
        self._vocabularies: dict[str, Mapping[str, frozenset[str]]] = {}
        self._rupture_keys: dict[str, Mapping[str, frozenset[str]]] = {}
        self._keys_by_text: dict[str, Mapping[str, tuple[str, ...]]] = {}
        self._items_by_term: dict[int, list[CompiledItem]] = defaultdict(list)
        for it in items:
            for t in set(it.any + it.all):
                self._items_by_term[t].append(it)

    def index(self, language: str | None) -> _Index:
        """The term index of ``language``'s key space (unstemmed for an unsupported language)."""
        lang = index_language(language)
        idx = self._indexes.get(lang)
        if idx is None:
            if self.analyser is None:
                raise RuntimeError(f"no index for {lang!r} and no analyser to build it")
            idx = self._indexes[lang] = _build_index(self.terms, self.analyser, lang)
        return idx

    def vocabulary(self, language: str | None) -> Mapping[str, frozenset[str]]:
        """Per rupture, the distinctive keys of its terms in ``language``'s key space: every key
        of 3+ characters of an item's ``any``/``all`` terms that at most
        :data:`VOCABULARY_MAX_RUPTURES` ruptures share. The judge measures how much of an article
        speaks the rupture's vocabulary beyond the exact terms that hit."""
        lang = index_language(language)
        vocab = self._vocabularies.get(lang)
        if vocab is None:
            vocab = self._vocabularies[lang] = distinctive_keys(self.rupture_keys(lang))
        return vocab

    def keys_by_text(self, language: str | None) -> Mapping[str, tuple[str, ...]]:
        """Term text → its keys in ``language``'s key space (terms with keys only)."""
        lang = index_language(language)
        cached = self._keys_by_text.get(lang)
        if cached is None:
            cached = self._keys_by_text[lang] = {
                self.terms[t]: k for lst in self.index(lang).by_first.values() for t, k in lst
            }
        return cached

    def rupture_keys(self, language: str | None) -> Mapping[str, frozenset[str]]:
        """Per rupture, every key of 3+ characters of its items' ``any``/``all`` terms (before
        :func:`distinctive_keys` keeps those few ruptures share)."""
        lang = index_language(language)
        cached = self._rupture_keys.get(lang)
        if cached is None:
            keys_of = self.keys_by_text(lang)
            per: dict[str, set[str]] = defaultdict(set)
            for it in self.items:
                for t in it.any + it.all:
                    per[it.rupture_id].update(
                        k for k in keys_of.get(self.terms[t], ()) if len(k) >= 3
                    )
            cached = self._rupture_keys[lang] = {r: frozenset(ks) for r, ks in per.items()}
        return cached

    def find_terms(self, sentence: Sentence, language: str) -> SentenceTerms:
        found: dict[int, list[int]] = {}
        for i, term_id, _ in self.index(language).occurrences(sentence.keys):
            found.setdefault(term_id, []).append(i)
        return SentenceTerms(sentence, found)

    def match_items(self, doc: AnalysedDoc) -> list[ItemMatch]:
        """Every item that hits the article, with the sentences, terms and counts it hit."""
        per_sentence = [self.find_terms(s, doc.language) for s in doc.sentences]
        in_article: set[int] = set()
        for st in per_sentence:
            in_article.update(st.positions)
        found: dict[str, _ItemAcc] = {}
        for idx, st in enumerate(per_sentence):
            candidates = {
                it.item_id: it for t in st.positions for it in self._items_by_term.get(t, ())
            }
            for it in candidates.values():
                strength = _sentence_hits(it, st)
                if strength == 0:
                    continue
                if it.context and not in_article.intersection(it.context):
                    continue
                acc = found.get(it.item_id)
                if acc is None:
                    acc = found[it.item_id] = _ItemAcc(it)
                acc.add(idx, st, strength)
        # by item id: what an article gets does not depend on where items and terms stand in
        # the file (the incremental re-match relies on it, ``signals.rematch_plan``)
        return [
            found[iid].freeze()
            for iid in sorted(found)
            if len(found[iid].sentences) >= found[iid].item.min_sentences
        ]

    def match(self, doc: AnalysedDoc) -> list[Hit]:
        """One hit per item, carrying its strongest sentence (what the store keeps)."""
        return hits_of(self.match_items(doc), doc)

    def term_ranges(
        self, sentence: Sentence, language: str, item_ids: Iterable[str]
    ) -> list[tuple[int, int, int]]:
        """``(term id, first key, end key)`` of every occurrence of the ``any``/``all`` terms of
        ``item_ids`` in ``sentence``: the key positions the matcher matched (for highlighting)."""
        wanted: set[int] = set()
        for iid in item_ids:
            it = self.item_by_id.get(iid)
            if it:
                wanted.update(it.any + it.all)
        index = self._indexes.get(language) or self._indexes["xx"]
        return [
            (term_id, i, i + n)
            for i, term_id, n in index.occurrences(sentence.keys)
            if term_id in wanted
        ]


class _ItemAcc:
    def __init__(self, item: CompiledItem):
        self.item = item
        self.sentences: list[int] = []
        self.terms: set[int] = set()
        self.occurrences = 0
        self.best = -1
        self.best_strength = 0

    def add(self, idx: int, st: SentenceTerms, strength: int) -> None:
        self.sentences.append(idx)
        own = set(self.item.any + self.item.all)
        for t, ps in st.positions.items():
            if t in own:
                self.terms.add(t)
                self.occurrences += len(ps)
        if strength > self.best_strength:
            self.best, self.best_strength = idx, strength

    def freeze(self) -> ItemMatch:
        it = self.item
        return ItemMatch(
            it.rupture_id,
            it.item_id,
            it.kind,
            it.weight,
            tuple(self.sentences),
            tuple(sorted(self.terms)),
            self.occurrences,
            self.best,
        )


def hits_of(items: Sequence[ItemMatch], doc: AnalysedDoc) -> list[Hit]:
    return [
        Hit(m.rupture_id, m.item_id, m.kind, doc.sentences[m.best].text, m.weight) for m in items
    ]


def _sentence_hits(it: CompiledItem, st: SentenceTerms) -> int:
    """0 if the item does not hit this sentence, else the number of distinct terms found."""
    pos = st.positions
    if it.none and any(t in pos for t in it.none):
        return 0
    any_found = [t for t in it.any if t in pos]
    if it.any and not any_found:
        return 0
    if any(t not in pos for t in it.all):
        return 0
    if it.within is not None:
        groups: list[list[int]] = [sorted(p for t in any_found for p in pos[t])] if it.any else []
        groups += [pos[t] for t in it.all]
        if min_window(groups) > it.within:
            return 0
    return len(any_found) + len(it.all)


def min_window(groups: Sequence[Sequence[int]]) -> int:
    """Smallest span (in tokens) containing one position from every group."""
    events = sorted((p, g) for g, ps in enumerate(groups) for p in ps)
    need = len(groups)
    count: dict[int, int] = defaultdict(int)
    have = 0
    best = 1 << 30
    lo = 0
    for p, g in events:
        if count[g] == 0:
            have += 1
        count[g] += 1
        while have == need:
            lp, lg = events[lo]
            best = min(best, p - lp)
            count[lg] -= 1
            if count[lg] == 0:
                have -= 1
            lo += 1
    return best


def compile_items(ruptures: Iterable[Rupture]) -> tuple[list[CompiledItem], list[str]]:
    """Every item of ``ruptures`` with its term ids, and the terms (term id → stripped text):
    what matching depends on besides the keys, without building any index."""
    terms: list[str] = []
    term_ids: dict[str, int] = {}

    def tid(term: str) -> int:
        t = term.strip()
        if t not in term_ids:
            term_ids[t] = len(terms)
            terms.append(t)
        return term_ids[t]

    items: list[CompiledItem] = []
    for r in ruptures:
        for kind_name, it in r.all_items():
            kind = ItemKind(kind_name)
            if isinstance(it, Announcer):
                names = [it.name, *it.aliases]
                items.append(
                    CompiledItem(
                        r.id,
                        it.id,
                        kind,
                        it.name,
                        1.0,
                        tuple(tid(n) for n in names),
                        (),
                        (),
                        (),
                        None,
                    )
                )
                continue
            label = it.text if isinstance(it, Milestone) else it.label
            items.append(
                CompiledItem(
                    r.id,
                    it.id,
                    kind,
                    label,
                    it.weight,
                    tuple(tid(t) for t in it.any),
                    tuple(tid(t) for t in it.all),
                    tuple(tid(t) for t in it.none),
                    tuple(tid(t) for t in it.context),
                    it.within,
                    it.min_sentences,
                )
            )
    return items, terms


def compile_ruleset(
    scenarios: Scenarios, analyser: Analyser, source: str = "scenarios.yaml"
) -> Ruleset:
    """Compile every term for every language; a term that normalises to nothing is an error."""
    items, terms = compile_items(scenarios.ruptures)
    problems: list[ConfigProblem] = []

    index = _build_index(terms, analyser, VALIDATED)
    indexed = {i for entries in index.by_first.values() for i, _ in entries}
    for i, term in enumerate(terms):
        if i not in indexed:
            owners = [it.item_id for it in items if i in it.any + it.all + it.none + it.context]
            problems.append(
                ConfigProblem(
                    source,
                    None,
                    f"term {term!r} (items: {', '.join(owners)})",
                    "normalises to nothing (only punctuation or function words)",
                )
            )
    if problems:
        raise ConfigError(problems)
    ruleset = Ruleset(scenarios, items, terms, {VALIDATED: index}, analyser)
    # part of the compiled (and cached) ruleset: what the judge and the re-match plan read
    ruleset.vocabulary(VALIDATED)
    ruleset.keys_by_text(VALIDATED)
    return ruleset


def distinctive_keys(per: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Per rupture, its keys that at most :data:`VOCABULARY_MAX_RUPTURES` ruptures share."""
    spread: dict[str, int] = defaultdict(int)
    for ks in per.values():
        for k in ks:
            spread[k] += 1
    return {
        r: frozenset(k for k in ks if spread[k] <= VOCABULARY_MAX_RUPTURES) for r, ks in per.items()
    }


def _build_index(terms: Sequence[str], analyser: Analyser, language: str) -> _Index:
    """Every term's keys in ``language``, by first key (a term with no keys is left out)."""
    idx = _Index()
    for i, term in enumerate(terms):
        keys = term_keys(term, analyser, language)
        if keys:
            idx.by_first[keys[0]].append((i, keys))
    return idx.freeze()


def term_keys(term: str, analyser: Analyser, language: str) -> tuple[str, ...]:
    """The keys a term is matched by in ``language``'s key space (the first one is what it is
    indexed by, here and in the stored key index); empty when it normalises to nothing."""
    return tuple(k for k in analyser.term_keys(term, language) if k != BREAK)
