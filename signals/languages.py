"""Which languages Signals analyses, and which language an article is in (decided once).

``SUPPORTED_LANGUAGES`` is the one list: each gets a Snowball stemmer (``analyse.py``) and a
stemmed index of the watch terms (``match.py``). Text in any other language is analysed
without stemming and matched against the unstemmed index (``UNSTEMMED``).

An article's language is the first supported one of: the feed entry's (its ``xml:lang``,
else the feed's declared ``<language>``, which feedparser passes down to its entries), the
page's (``<html lang>`` and the like, see ``extract.py``), the source's (``sources.yaml``).
The source's language is kept even when unsupported: it is what the operator said.
"""

from __future__ import annotations

import re

#: ISO 639-1 codes, each with a stemmer and a ruleset index.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("fr", "en", "de", "es", "it")
#: Snowball algorithm of each supported language.
SNOWBALL: dict[str, str] = {
    "fr": "french",
    "en": "english",
    "de": "german",
    "es": "spanish",
    "it": "italian",
}
#: Language code of the unstemmed key space (spaCy's multi-language tokenizer).
UNSTEMMED = "xx"

_TAG = re.compile(r"^\s*([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*\s*$")
#: ISO 639-2 codes of the supported languages (some feeds and pages use them).
_THREE_LETTERS = {
    "fra": "fr",
    "fre": "fr",
    "eng": "en",
    "deu": "de",
    "ger": "de",
    "spa": "es",
    "ita": "it",
}


def language_code(value: object) -> str | None:
    """A language tag ("de-DE", "EN_us", " fr ", "deu") as a 2-letter lowercase code, else None."""
    if not isinstance(value, str):
        return None
    m = _TAG.match(value.split(",")[0])
    if not m:
        return None
    code = m.group(1).lower()
    return code if len(code) == 2 else _THREE_LETTERS.get(code)


def supported_language(value: object) -> str | None:
    """The tag's 2-letter code if it is a supported language, else None."""
    code = language_code(value)
    return code if code in SUPPORTED_LANGUAGES else None


def index_language(value: object) -> str:
    """The key space text in this language is matched in: its own if supported, else unstemmed."""
    return supported_language(value) or UNSTEMMED


def decide_language(entry: object, page: object, source: object) -> str:
    """The entry's language, else the page's, else the source's: the first supported one.
    An unsupported source language is kept as given (2 letters); no usable one gives ``xx``."""
    return (
        supported_language(entry) or supported_language(page) or language_code(source) or UNSTEMMED
    )
