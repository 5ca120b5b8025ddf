"""Content words of a text and how over-represented they are in a set of articles: what
``signals tune`` (candidate terms) and :mod:`signals.emerging` (emerging terms) share.

Words are lowercased, accents stripped (the key), at least three characters, starting with a
letter; function words (spaCy's list for the text's language, both French and English for any
other language) and news boilerplate ("tribune", "abonnés", weekdays, months…) are never
content words. Over-representation is the log-odds ratio with an informative Dirichlet prior
(Monroe, Colaresi & Quinn 2008, "Fightin' Words"), whose z-score orders the candidates.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import math
import re
import runpy
from pathlib import Path

from .analyse import strip_accents

_WORD = re.compile(r"[^\W\d_][\w-]{2,}", re.UNICODE)
_STOP_SHORT = frozenset(
    {
        "a",
        "the",
        "an",
        "plus",
        "fait",
        "faire",
        "dit",
        "ans",
        "ete",
        "etre",
        "avoir",
        "aussi",
        "comme",
        "tout",
        "tous",
        "toute",
        "toutes",
        "bien",
        "encore",
        "deja",
        "notamment",
        "depuis",
        "selon",
    }
)
#: Weekdays and months (French and English): calendar words, never content, never names.
_CALENDAR_WORDS = """
    lundi mardi mercredi jeudi vendredi samedi dimanche janvier fevrier mars avril mai juin
    juillet aout septembre octobre novembre decembre monday tuesday wednesday thursday friday
    saturday sunday january february march april june july august september october november
    december
    """
CALENDAR = frozenset(strip_accents(w) for w in _CALENDAR_WORDS.split())
#: News boilerplate: words of the trade, bylines, page furniture and the calendar.
_BOILERPLATE_WORDS = """
    tribune article articles est-a-dire c-est-a-dire abonne abonnes abonnement lire lecture
    newsletter journal journaux
    redaction redacteur edition editorial chronique photo photos video videos image images publie
    publiee mis jour actualite actualites info infos direct replay podcast emission journaliste
    journalistes reporter envoye special afp reuters source sources monde bonne bon bonnes bons
    grand grande grands grandes nouveau nouvelle nouveaux nouvelles premier premiere dernier
    derniere annee annees jour jours semaine semaines mois heure heures minute minutes hier demain
    aujourd france francais francaise gens
    personne personnes chose choses cas part fois moment question point exemple partie coup
    monsieur madame selon declare explique estime ajoute affirme rappelle souligne precise indique
    said says told according year years week weeks day days today yesterday
    new first last people time news report reported
    percent million millions milliard milliards euros euro dollars
    """
BOILERPLATE = frozenset(strip_accents(w) for w in _BOILERPLATE_WORDS.split()) | CALENDAR
PRIOR_STRENGTH = (
    50.0  # α0: pseudo-articles of the background prior (Monroe et al.'s informative prior)
)
MIN_Z = 1.96  # a candidate's log-odds ratio must be significant at about 5 %


@functools.cache
def _spacy_stop_words(language: str) -> frozenset[str]:
    """``spacy.lang.<language>.stop_words.STOP_WORDS``, read from its file: importing it as a
    module would run ``spacy/lang/fr/__init__.py`` first, whose tokenizer exceptions cost
    seconds of regex compilation (see :mod:`signals.tokenizer`); the file is plain data."""
    spec = importlib.util.find_spec("spacy")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for base in locations:
        path = Path(base) / "lang" / language / "stop_words.py"
        if path.is_file():
            words = runpy.run_path(str(path)).get("STOP_WORDS")
            if isinstance(words, set | frozenset):
                return frozenset(str(w) for w in words)
    module = importlib.import_module(f"spacy.lang.{language}.stop_words")  # another layout
    return frozenset(module.STOP_WORDS)


@functools.cache
def stopwords(language: str | None = None) -> frozenset[str]:
    """Function words of ``language`` (keys); both French and English for any other language.
    spaCy's lists are read on first use only."""
    chosen = [language] if language in ("fr", "en") else ["fr", "en"]
    return (
        frozenset(strip_accents(w.lower()) for lang in chosen for w in _spacy_stop_words(lang))
        | _STOP_SHORT
    )


def is_content_key(key: str, language: str | None = None) -> bool:
    """Whether a word key (lowercase, accents stripped) is a content word."""
    return len(key) > 2 and key not in BOILERPLATE and key not in stopwords(language)


@functools.lru_cache(maxsize=200_000)
def _content_form(word: str, language: str | None) -> tuple[str, str] | None:
    """(key, form) of one matched word when it is a content word (news vocabularies are small:
    cached)."""
    form = word.lower().strip("-")
    key = strip_accents(form)
    return (key, form) if is_content_key(key, language) else None


def word_forms(text: str, language: str | None = None) -> dict[str, str]:
    """Content words of ``text``: key → the word as first written (lowercased, accents kept)."""
    out: dict[str, str] = {}
    for word in _WORD.findall(text):
        found = _content_form(word, language)
        if found is not None and found[0] not in out:
            out[found[0]] = found[1]
    return out


def content_words(text: str, language: str | None = None) -> set[str]:
    """The keys of :func:`word_forms`."""
    return set(word_forms(text, language))


def log_odds_z(
    k: int, n_ev: int, df: int, n: int, alpha0: float = PRIOR_STRENGTH
) -> tuple[float, float]:
    """(log-odds ratio δ, its z-score) of a word seen in ``k`` of ``n_ev`` evidence articles and
    in ``df`` of all ``n`` articles, evidence against the rest, each side smoothed by a Beta prior
    of ``alpha0`` pseudo-articles at the word's background rate ``p`` (Monroe et al. 2008):
    δ = log((k + α0·p) / (n_ev − k + α0·(1−p))) − the same for the rest; z = δ / sd(δ)."""
    p = (df + 0.5) / (n + 1.0)
    a, b = alpha0 * p, alpha0 * (1.0 - p)
    k_rest, n_rest = df - k, n - n_ev
    delta = math.log((k + a) / (n_ev - k + b)) - math.log((k_rest + a) / (n_rest - k_rest + b))
    var = 1 / (k + a) + 1 / (n_ev - k + b) + 1 / (k_rest + a) + 1 / (n_rest - k_rest + b)
    return delta, delta / math.sqrt(var)
