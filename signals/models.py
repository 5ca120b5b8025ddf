"""Plain typed dataclasses passed between stages. Third-party objects (feedparser dicts,
httpx responses, spaCy Docs) are converted to these at the boundary and never travel further."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

# --------------------------------------------------------------------------- fetch


class FetchStatus(enum.StrEnum):
    """Outcome class of one HTTP fetch; drives backoff and the health report."""

    OK = "ok"  # 2xx with a body
    NOT_MODIFIED = "not_modified"  # 304
    TEMP = "temp"  # worth retrying soon: 429, 5xx, timeout, connection error
    SOFT = "soft"  # retry with backoff: 404, bad content, not a feed, too large
    HARD = "hard"  # permanent: 410, refused address, redirect loop; counts towards disabling


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: FetchStatus
    reason: str  # short fixed vocabulary, e.g. "ok", "http-404", "timeout", "blocked-address"
    http_status: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    retry_after: float | None = None  # seconds
    elapsed: float = 0.0


@dataclass(frozen=True)
class ParsedEntry:
    guid: str | None
    link: str | None
    title: str
    summary: str  # plain text
    published: datetime | None  # timezone-aware UTC
    language: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str | None
    language: str | None
    entries: list[ParsedEntry]
    problem: str | None = None  # set when the body is not a usable feed (then entries == [])


# --------------------------------------------------------------------------- extract / analyse


@dataclass(frozen=True)
class Extracted:
    text: str
    title: str | None = None
    published: datetime | None = None
    language: str | None = None


@dataclass(frozen=True)
class Entity:
    text: str
    label: str  # PER, ORG, LOC, MISC


@dataclass(frozen=True)
class Sentence:
    text: str
    keys: tuple[str, ...]  # normalised token keys used by the matcher


@dataclass(frozen=True)
class AnalysedDoc:
    language: str
    sentences: tuple[Sentence, ...]
    entities: tuple[Entity, ...] = ()


# --------------------------------------------------------------------------- match


class ItemKind(enum.StrEnum):
    WATCH = "watch"
    EARLY_SIGN = "early_sign"
    DOUBT = "doubt"
    MILESTONE = "milestone"
    ANNOUNCER = "announcer"


EVIDENCE_KINDS = frozenset({ItemKind.WATCH, ItemKind.EARLY_SIGN, ItemKind.MILESTONE})


class Polarity(enum.StrEnum):
    """Which way an (article, rupture) candidate points: evidence, or counter-evidence (doubts)."""

    EVIDENCE = "evidence"
    COUNTER = "counter"


def polarity_of(kind: ItemKind) -> Polarity | None:
    if kind in EVIDENCE_KINDS:
        return Polarity.EVIDENCE
    if kind is ItemKind.DOUBT:
        return Polarity.COUNTER
    return None  # announcers: context only


@dataclass(frozen=True)
class ItemMatch:
    """Everything the matcher found for one item in one article (the judge's raw material)."""

    rupture_id: str
    item_id: str
    kind: ItemKind
    weight: float
    sentences: tuple[int, ...]  # indexes of the sentences the item hits, in order
    terms: tuple[int, ...]  # distinct term ids found in those sentences
    occurrences: int  # term occurrences in those sentences
    best: int  # index of the sentence with the most distinct terms


@dataclass(frozen=True)
class Judgement:
    """The article-level decision for one (article, rupture, polarity) candidate."""

    rupture_id: str
    polarity: Polarity
    score: float  # probability that a careful analyst agrees (0..1)
    accepted: bool
    reasons: tuple[str, ...]  # the strongest contributions, e.g. "title hit +1.3"


@dataclass(frozen=True)
class Hit:
    rupture_id: str
    item_id: str
    kind: ItemKind
    sentence: str
    weight: float = 1.0
