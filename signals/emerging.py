"""Emerging terms per rupture: a keyword emergence map (Yoon 2012) of a rupture's evidence.

Over the last ``weeks`` ISO weeks (default 12) ending with the digest's week, one rupture's
evidence articles (each with its week, text and named entities) are compared with a
*background*: the articles analysed in the same weeks (a deterministic sample of at most
:data:`BACKGROUND_MAX`), each with its source.

* **Candidates**: the content words of the evidence (:mod:`signals.keyness`: no function word,
  no news boilerplate) and its named entities that look like names and are not boilerplate
  (:meth:`Background.is_boilerplate`). A candidate is listed only when seen in at least
  ``min_support`` evidence articles and over-represented in the evidence against the rest of
  the background (log-odds ratio with an informative prior, z ≥ 1.96); listed ones are ranked by
  that z (``keyness``), so a word frequent everywhere never leads.
* **Visibility**: evidence articles mentioning it ÷ evidence articles of the window.
* **Growth**: the z-score of the log-odds ratio of its share of the last ``recent_weeks``
  weeks' evidence (default 4) against its share of the earlier weeks' evidence, each smoothed
  by a prior of ``growth_prior`` pseudo-articles at its share of the whole window: positive when
  its share rose, and one article moves it little. 0 when either period has no evidence.
* **Quadrants** (Yoon's map): visibility is high above the mean of the listed terms (as Yoon's
  map splits at the average) or from half the evidence up, growth is high at or above
  ``growth_split``: weak signals (low, high), strong signals (high, high), latent (low, low),
  well-known (high, low).

Pure computation: the store gives the documents (``signals.store.emerging``).
"""

from __future__ import annotations

import functools
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import snowballstemmer

from .analyse import strip_accents
from .keyness import BOILERPLATE, CALENDAR, MIN_Z, log_odds_z, stopwords, word_forms
from .languages import SNOWBALL

BACKGROUND_MAX = 4000  # articles of the window compared against (a deterministic sample beyond)
ENTITY_SHARE = 0.2  # a name in this share of the background articles is boilerplate…
SOURCE_SHARE = 0.3  # …or in this share of one source's background articles…
SOURCE_MIN = 10  # …that source having at least this many
HIGH_VISIBILITY = 0.5  # in at least half the evidence: high visibility whatever the others
COMMON_MIN = 2  # a one-word "name" written in lowercase in this many background articles is a word
QUADRANTS = ("weak", "strong", "latent", "well-known")
QUADRANT_LABELS = {
    "weak": "weak signal",
    "strong": "strong signal",
    "latent": "latent",
    "well-known": "well-known",
}
_TOKEN = re.compile(r"\w+", re.UNICODE)
_ELIDED_TAIL = re.compile(r"['’]$")
_ELIDED_LOWER = re.compile(r"^(?:[LlDd]|[Qq]u)['’][a-zà-ÿ]")
_ELIDED_HEAD = re.compile(r"^(?:[LlDd]|[Qq]u)['’](?=[A-ZÀ-Ý])")  # "L'Espagne" is "Espagne"
#: Words that open what a presenter says to someone on air: "Bonsoir Claude", "Merci Fanny".
GREETINGS = frozenset(
    ["bonjour", "bonsoir", "merci", "salut", "revoir", "hello", "thanks", "oui", "non", "voila"]
)
_CAP = r"[A-ZÀ-Ý][\w’'-]+"
_SPEAKER = re.compile(rf"(?<![\w’'-])({_CAP}(?: {_CAP}){{1,2}}) ?:(?!//)")  # "Claude Sempère : …"
_GREETED = re.compile(rf"\b(?:Bonjour|Bonsoir|Merci|Au revoir)\s*,?\s+({_CAP}(?: {_CAP}){{0,2}})")


@dataclass(frozen=True)
class EvidenceDoc:
    """One evidence article of the window."""

    article_id: int
    week: str
    text: str
    language: str
    entities: tuple[str, ...] = ()  # the NER's names (people, organisations, places)


@dataclass(frozen=True)
class BackgroundDoc:
    """One article analysed in the window (evidence or not)."""

    article_id: int
    text: str
    language: str
    source: str


@dataclass(frozen=True)
class EmergingParams:
    weeks: int = 12  # the window, ending with the digest's week
    recent_weeks: int = 4  # its last weeks, compared with the earlier ones
    min_support: int = 2  # evidence articles a candidate needs
    max_terms: int = 15  # listed per rupture (the best keyness first)
    growth_prior: float = 10.0  # pseudo-articles smoothing each period's share
    growth_split: float = 1.0  # growth at or above this is high
    min_z: float = MIN_Z  # keyness a candidate needs


@dataclass(frozen=True)
class EmergingTerm:
    term: str  # as written (a word lowercased, a name as the NER found it)
    kind: str  # word | entity
    quadrant: str  # weak | strong | latent | well-known
    visibility: float  # share of the window's evidence articles mentioning it
    growth: float  # z-score of its share's rise (last weeks vs earlier)
    articles: int  # evidence articles of the window mentioning it
    recent_share: float  # its share of the last weeks' evidence
    earlier_share: float  # its share of the earlier weeks' evidence
    keyness: float  # z-score of its over-representation in the evidence vs the background
    in_watch_list: bool = False  # a word of the rupture's own terms

    @property
    def quadrant_label(self) -> str:
        return QUADRANT_LABELS.get(self.quadrant, self.quadrant)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, o: dict[str, Any]) -> EmergingTerm:
        return cls(
            term=str(o["term"]),
            kind=str(o["kind"]),
            quadrant=str(o["quadrant"]),
            visibility=float(o["visibility"]),
            growth=float(o["growth"]),
            articles=int(o["articles"]),
            recent_share=float(o["recent_share"]),
            earlier_share=float(o["earlier_share"]),
            keyness=float(o["keyness"]),
            in_watch_list=bool(o.get("in_watch_list", False)),
        )


@dataclass(frozen=True)
class EmergingMap:
    """A rupture's emerging terms over a window of weeks."""

    first_week: str
    last_week: str
    weeks: int
    recent_weeks: int
    evidence: int  # evidence articles of the window
    recent_evidence: int  # of which in the last ``recent_weeks``
    background: int  # articles compared against
    visibility_split: float  # mean visibility of the listed terms
    growth_split: float
    terms: tuple[EmergingTerm, ...]  # best keyness first

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["terms"] = [t.to_dict() for t in self.terms]
        return d

    @classmethod
    def from_dict(cls, o: dict[str, Any]) -> EmergingMap:
        return cls(
            first_week=str(o["first_week"]),
            last_week=str(o["last_week"]),
            weeks=int(o["weeks"]),
            recent_weeks=int(o["recent_weeks"]),
            evidence=int(o["evidence"]),
            recent_evidence=int(o["recent_evidence"]),
            background=int(o.get("background", 0)),
            visibility_split=float(o["visibility_split"]),
            growth_split=float(o["growth_split"]),
            terms=tuple(EmergingTerm.from_dict(t) for t in o.get("terms", ())),
        )


@functools.lru_cache(maxsize=200_000)
def _word_key(word: str) -> str:
    return strip_accents(word.lower())


@functools.lru_cache(maxsize=8192)
def _tokens(text: str) -> frozenset[str]:
    """Every word of ``text``, lowercased, accents stripped (cached: an article is in the
    background and in the evidence of several ruptures)."""
    return frozenset(_TOKEN.findall(strip_accents(text.lower())))


@functools.lru_cache(maxsize=8192)
def _word_forms(text: str, language: str | None) -> dict[str, str]:
    """:func:`signals.keyness.word_forms`, once per text (read only)."""
    return word_forms(text, language)


def _name_tokens(name: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(strip_accents(name.lower())))


def _contains(tokens: frozenset[str], name: tuple[str, ...]) -> bool:
    return bool(name) and all(t in tokens for t in name)


def looks_like_name(name: str, language: str | None = None) -> bool:
    """Whether an entity the NER found can be a name: it starts with a capital letter (not a
    lowercase word, a number, "2020 n’"), has no elided fragment ("n’"), and a one-word name is not
    a weekday, a month, a function word or news boilerplate ("Samedi", "Selon"), and it does not
    open with a greeting ("Merci Fanny")."""
    name = " ".join(name.split())
    if len(name) < 2 or not name[0].isupper() or not any(c.isalpha() for c in name):
        return False
    words = name.split()
    if any(_ELIDED_TAIL.search(w) for w in words) or not (name[-1].isalnum() or name[-1] in ".)"):
        return False  # "2020 n’", "Madrid-"
    if _ELIDED_LOWER.match(name):
        return False  # "L'impact": an elided article before a common noun
    if strip_accents(words[0].lower()) in GREETINGS:
        return False  # "Bonjour Fanny"
    if len(words) == 1:
        key = strip_accents(name.lower())
        if key in CALENDAR or key in BOILERPLATE or key in stopwords(language):
            return False
    return True


class Background:
    """The articles of the window, tokenised once: document frequencies of content words and
    of names, per source, and which words are written in lowercase (common words)."""

    def __init__(self, docs: Sequence[BackgroundDoc]):
        self.n = len(docs)
        self._index = {d.article_id: i for i, d in enumerate(docs)}
        self._words: list[frozenset[str]] = []
        self._tokens: list[frozenset[str]] = []
        self._sources = [d.source for d in docs]
        self._per_source = Counter(self._sources)
        self.df: Counter[str] = Counter()
        self._lowercase: Counter[str] = Counter()
        self._on_air: Counter[tuple[str, ...]] = Counter()  # names greeted or speaking on air
        for d in docs:
            self._on_air.update(
                {_name_tokens(m) for m in _SPEAKER.findall(d.text)}
                | {_name_tokens(m) for m in _GREETED.findall(d.text)}
            )
            words = frozenset(_word_forms(d.text, d.language))
            self._words.append(words)
            self.df.update(words)
            self._tokens.append(_tokens(d.text))
            self._lowercase.update(
                {_word_key(w) for w in _TOKEN.findall(d.text) if w[:1].islower()}
            )
        self._name_docs: dict[tuple[str, ...], list[int]] = {}

    def positions(self, article_ids: Iterable[int]) -> list[int]:
        """Where these articles are in the background (those sampled)."""
        return [self._index[a] for a in article_ids if a in self._index]

    def has_word(self, position: int, key: str) -> bool:
        return key in self._words[position]

    def df_of(self, positions: Iterable[int]) -> Counter[str]:
        """Document frequencies of the content words among these background articles."""
        out: Counter[str] = Counter()
        for p in positions:
            out.update(self._words[p])
        return out

    def name_docs(self, name: str) -> list[int]:
        """Positions of the background articles whose text contains every word of ``name``."""
        key = _name_tokens(name)
        if key not in self._name_docs:
            self._name_docs[key] = [
                i for i, toks in enumerate(self._tokens) if _contains(toks, key)
            ]
        return self._name_docs[key]

    def has_name(self, position: int, name: str) -> bool:
        return _contains(self._tokens[position], _name_tokens(name))

    def is_common_word(self, name: str) -> bool:
        """A one-word "name" also written in lowercase in several articles ("Élus": "les élus")."""
        words = _name_tokens(name)
        return len(words) == 1 and self._lowercase[words[0]] >= COMMON_MIN

    def is_on_air(self, name: str) -> bool:
        """A presenter or a reporter: a name greeted ("Bonsoir Claude Sempère"), speaking
        ("Claude Sempère : …"), or whose first name is greeted in several articles ("Merci Fanny")."""
        key = _name_tokens(name)
        return bool(key) and (
            self._on_air[key] > 0 or (len(key) >= 2 and self._on_air[key[:1]] >= COMMON_MIN)
        )

    def is_boilerplate(self, name: str) -> bool:
        """A name in a large share of all the articles (a site's footer: "Signals"), or of one
        source's (a channel's name, its anchors): page furniture, not news."""
        docs = self.name_docs(name)
        if self.n and len(docs) >= 3 and len(docs) >= ENTITY_SHARE * self.n:
            return True
        per_source = Counter(self._sources[i] for i in docs)
        return any(
            self._per_source[s] >= SOURCE_MIN and c >= SOURCE_SHARE * self._per_source[s]
            for s, c in per_source.items()
        )

    def is_noise(self, name: str, language: str | None = None) -> bool:
        """Not a name, a common word, someone on air, or boilerplate."""
        return (
            not looks_like_name(name, language)
            or self.is_common_word(name)
            or self.is_on_air(name)
            or self.is_boilerplate(name)
        )


def clean_entities(
    counts: Iterable[tuple[str, int]],
    background: Background,
    language: str | None = None,
    limit: int = 10,
) -> list[tuple[str, int]]:
    """``counts`` (name, articles) without the noise (:meth:`Background.is_noise`), at most ``limit``."""
    return [(name, n) for name, n in counts if not background.is_noise(name, language)][:limit]


def _stemmer(language: str) -> Any:
    return snowballstemmer.stemmer(SNOWBALL.get(language, "french"))


def watch_keys(terms: Iterable[str], language: str = "fr") -> frozenset[str]:
    """Word keys (and their stems) of a rupture's own terms, to mark candidates already watched."""
    stem = _stemmer(language)
    keys = {strip_accents(w) for t in terms for w in _TOKEN.findall(t.lower()) if len(w) > 2}
    return frozenset(keys | {"~" + stem.stemWord(k) for k in keys})


def _watched(words: Iterable[str], watched: frozenset[str], stem: Any) -> bool:
    words = [w for w in words if len(w) > 2]
    return bool(words) and all(w in watched or "~" + stem.stemWord(w) in watched for w in words)


@dataclass
class _Candidate:
    term: str
    kind: str
    docs: set[int]  # positions in the evidence
    keyness: float
    words: tuple[str, ...]


def emerging_map(
    evidence: Sequence[EvidenceDoc],
    background: Background,
    weeks: Sequence[str],
    watched: frozenset[str] = frozenset(),
    params: EmergingParams | None = None,
) -> EmergingMap | None:
    """The map of one rupture's evidence over ``weeks`` (oldest first; the last ``recent_weeks``
    are the recent period); None without evidence."""
    params = params or EmergingParams()
    evidence = [d for d in evidence if d.week in set(weeks)]
    if not evidence or not weeks:
        return None
    recent_set = set(weeks[-params.recent_weeks :])
    is_recent = [d.week in recent_set for d in evidence]
    n_ev, n_recent = len(evidence), sum(is_recent)
    language = Counter(d.language for d in evidence).most_common(1)[0][0]
    inside = background.positions(d.article_id for d in evidence)
    n_rest = background.n - len(inside)

    words: dict[str, set[int]] = defaultdict(set)
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    names: Counter[str] = Counter()
    tokens = []
    for i, d in enumerate(evidence):
        for key, form in _word_forms(d.text, d.language).items():
            words[key].add(i)
            forms[key][form] += 1
        names.update(set(d.entities))
        tokens.append(_tokens(d.text))

    def keyness(k: int, df_rest: int) -> float | None:
        delta, z = log_odds_z(k, n_ev, k + max(df_rest, 0), n_ev + n_rest)
        return z if delta > 0 and z >= params.min_z else None

    cands: list[_Candidate] = []
    seen_names: set[tuple[str, ...]] = set()
    for found, _ in sorted(names.items(), key=lambda kv: (-kv[1], kv[0])):
        name = _ELIDED_HEAD.sub("", found)
        name_key = _name_tokens(name)
        if name_key in seen_names or background.is_noise(name, language):
            continue
        seen_names.add(name_key)
        docs = {i for i, toks in enumerate(tokens) if _contains(toks, name_key)} | {
            i for i, d in enumerate(evidence) if found in d.entities
        }
        if len(docs) < params.min_support:
            continue
        rest = len(background.name_docs(name)) - sum(background.has_name(p, name) for p in inside)
        z = keyness(len(docs), rest)
        if z is not None:
            cands.append(_Candidate(name, "entity", docs, z, name_key))
    in_names = {w for c in cands for w in c.words}
    inside_df = background.df_of(inside)
    for key, docs in words.items():
        if len(docs) < params.min_support or all(part in in_names for part in key.split("-")):
            continue
        rest = background.df[key] - inside_df[key]
        z = keyness(len(docs), rest)
        if z is not None:
            form = min(forms[key].items(), key=lambda kv: (-kv[1], kv[0]))[0]
            cands.append(_Candidate(form, "word", docs, z, (key,)))
    cands.sort(key=lambda c: (-c.keyness, c.term))
    cands = cands[: params.max_terms]

    stem = _stemmer(language)
    measured = []
    for c in cands:
        k = len(c.docs)
        k_recent = sum(is_recent[i] for i in c.docs)
        growth = 0.0
        if 0 < n_recent < n_ev:
            growth = log_odds_z(k_recent, n_recent, k, n_ev, params.growth_prior)[1]
        earlier = n_ev - n_recent
        measured.append(
            (
                c,
                k / n_ev,
                growth,
                k_recent / n_recent if n_recent else 0.0,
                (k - k_recent) / earlier if earlier else 0.0,
            )
        )
    split = statistics.fmean(v for _, v, _, _, _ in measured) if measured else 0.0
    terms = tuple(
        EmergingTerm(
            term=c.term,
            kind=c.kind,
            quadrant=quadrant(vis, growth, split, params.growth_split),
            visibility=round(vis, 4),
            growth=round(growth, 3),
            articles=len(c.docs),
            recent_share=round(rs, 4),
            earlier_share=round(es, 4),
            keyness=round(c.keyness, 3),
            in_watch_list=_watched(c.words, watched, stem),
        )
        for c, vis, growth, rs, es in measured
    )
    return EmergingMap(
        first_week=weeks[0],
        last_week=weeks[-1],
        weeks=len(weeks),
        recent_weeks=min(params.recent_weeks, len(weeks)),
        evidence=n_ev,
        recent_evidence=n_recent,
        background=background.n,
        visibility_split=round(split, 4),
        growth_split=params.growth_split,
        terms=terms,
    )


def quadrant(visibility: float, growth: float, visibility_split: float, growth_split: float) -> str:
    """weak (low visibility, high growth) | strong (high, high) | latent (low, low) | well-known
    (high, low). Visibility is high above the split (ties are low: when every term is in two
    articles, none stands out), or in at least half the evidence."""
    high_v, high_g = (
        visibility > visibility_split or visibility >= HIGH_VISIBILITY,
        growth >= growth_split,
    )
    if high_g:
        return "strong" if high_v else "weak"
    return "well-known" if high_v else "latent"
