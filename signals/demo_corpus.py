"""The offline demo corpus: data shipped inside the package (``signals/demo_data/``).

The corpus is data written by the project: fictional outlets (``outlets.yaml``) and fictional
articles (``articles/2025-Www.yaml``, one file per ISO week). Every article is marked as demo
data in its body. :func:`load_corpus` validates the files with ``config``'s validator (the
pydantic schemas below: the same file/line/key messages as ``sources.yaml``) into typed
dataclasses. ``demo_site`` serves the corpus over HTTP; ``demo`` replays it.

Pure apart from reading the corpus files; no network, no clock (the caller passes ``now``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationInfo, field_validator

from .config import ID_RE, StrictModel, YamlDoc, line_of, read_yaml, validate
from .errors import ConfigError, ConfigProblem

PARIS = ZoneInfo("Europe/Paris")
FEED_WINDOW = timedelta(days=3)
WEEK_RE = r"^\d{4}-W\d{2}$"

# The last paragraph of every body, by language: the corpus is visibly fictional.
DEMO_MARKERS: dict[str, str] = {
    "fr": "— Article fictif, corpus de démonstration Signals.",
    "en": "— Fictional article, Signals demo corpus.",
}
MIN_WORDS, MAX_WORDS = 120, 350  # body length, marker excluded
MIN_PARAGRAPHS, MAX_PARAGRAPHS = 3, 6  # marker excluded

Language = Literal["fr", "en"]
Name = Annotated[str, Field(min_length=1)]


def default_corpus_dir() -> Path:
    """The corpus shipped with the package (works from a wheel as from a checkout)."""
    return Path(__file__).resolve().parent / "demo_data"


def _paragraphs(body: str) -> tuple[str, ...]:
    """Paragraphs (separated by blank lines), each on one line."""
    return tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", body.strip()) if p.strip())


def _without_marker(paras: tuple[str, ...]) -> tuple[str, ...]:
    return paras[:-1] if paras and paras[-1] in DEMO_MARKERS.values() else paras


def _paris_week(dt: datetime) -> str:
    """``2025-W07``, in Paris time (the newsroom's week)."""
    y, w, _ = dt.astimezone(PARIS).isocalendar()
    return f"{y}-W{w:02d}"


# --------------------------------------------------------------------------- schemas (YAML)


class OutletEntry(StrictModel):
    id: str = Field(pattern=ID_RE)
    name: Name
    language: Language
    tagline: str = ""
    journalists: list[Name] = Field(default_factory=list)  # for the bylines


class OutletsFile(StrictModel):
    """``outlets.yaml``."""

    outlets: list[OutletEntry] = Field(min_length=1)

    def semantic_problems(self) -> list[tuple[tuple[int | str, ...], str]]:
        out: list[tuple[tuple[int | str, ...], str]] = []
        seen: set[str] = set()
        for i, o in enumerate(self.outlets):
            if o.id in seen:
                out.append((("outlets", i, "id"), f"duplicate outlet id {o.id!r}"))
            seen.add(o.id)
        return out


def _outlets(info: ValidationInfo) -> dict[str, OutletEntry] | None:
    """The outlets passed as validation context (None when ``outlets.yaml`` was invalid)."""
    ctx = info.context or {}
    outlets = ctx.get("outlets")
    return outlets if isinstance(outlets, dict) else None


class ArticleEntry(StrictModel):
    """One article. Fields are validated in this order: ``body`` sees ``source``/``language``."""

    id: str = Field(pattern=ID_RE)
    source: str
    language: Language | None = None  # default: the outlet's
    published: datetime
    title: Name
    lede: Name
    body: str  # paragraphs separated by blank lines; the last one is the demo marker
    tags: list[Name] = Field(default_factory=list)

    @field_validator("source")
    @classmethod
    def _known_outlet(cls, v: str, info: ValidationInfo) -> str:
        outlets = _outlets(info)
        if outlets is not None and v not in outlets:
            raise ValueError(f"unknown outlet {v!r} (known: {', '.join(sorted(outlets))})")
        return v

    @field_validator("published", mode="before")
    @classmethod
    def _aware(cls, v: Any) -> datetime:
        dt = datetime.fromisoformat(v) if isinstance(v, str) else v
        if not isinstance(dt, datetime):
            raise ValueError(f"expected an ISO-8601 date-time with a UTC offset, got {v!r}")
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(f"{v!s} has no UTC offset (write e.g. 2025-01-06T07:45:00+01:00)")
        return dt.astimezone(UTC)

    @field_validator("title", "lede")
    @classmethod
    def _one_line(cls, v: str) -> str:
        return " ".join(v.split())

    @field_validator("body")
    @classmethod
    def _newspaper_shape(cls, v: str, info: ValidationInfo) -> str:
        outlets = _outlets(info) or {}
        outlet = outlets.get(str(info.data.get("source")))
        language = info.data.get("language") or (outlet.language if outlet else None)
        paras = _paragraphs(v)
        if language is not None:
            marker = DEMO_MARKERS[language]
            if not paras or paras[-1] != marker:
                raise ValueError(f"the last paragraph must be the demo marker {marker!r}")
        elif not paras or paras[-1] not in DEMO_MARKERS.values():
            raise ValueError("the last paragraph must be the demo marker")
        text = _without_marker(paras)
        if not MIN_PARAGRAPHS <= len(text) <= MAX_PARAGRAPHS:
            raise ValueError(
                f"{len(text)} paragraphs; expected {MIN_PARAGRAPHS} to {MAX_PARAGRAPHS} "
                "before the marker"
            )
        words = sum(len(p.split()) for p in text)
        if not MIN_WORDS <= words <= MAX_WORDS:
            raise ValueError(f"{words} words; expected {MIN_WORDS} to {MAX_WORDS}")
        return v.strip() + "\n"


class ArticleFile(StrictModel):
    """``articles/2025-Www.yaml``: the week and its articles."""

    week: str = Field(pattern=WEEK_RE)
    articles: list[ArticleEntry]

    def semantic_problems(self) -> list[tuple[tuple[int | str, ...], str]]:
        out: list[tuple[tuple[int | str, ...], str]] = []
        for i, a in enumerate(self.articles):
            if _paris_week(a.published) != self.week:
                out.append(
                    (
                        ("articles", i, "published"),
                        f"{a.published.astimezone(PARIS).isoformat()} is in "
                        f"{_paris_week(a.published)}, not in this file's week {self.week}",
                    )
                )
        return out


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class DemoSource:
    id: str
    name: str
    language: str
    tagline: str = ""
    journalists: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoArticle:
    id: str
    source: str
    published: datetime  # timezone-aware, UTC
    title: str
    lede: str
    body: str  # paragraphs separated by blank lines; the last one is the demo marker
    language: str
    tags: tuple[str, ...] = ()

    @property
    def paragraphs(self) -> tuple[str, ...]:
        """Body paragraphs (each on one line), demo marker included."""
        return _paragraphs(self.body)

    @property
    def text_paragraphs(self) -> tuple[str, ...]:
        """Body paragraphs without the demo marker."""
        return _without_marker(self.paragraphs)

    @property
    def path(self) -> str:
        return f"/articles/{self.id}.html"

    @property
    def iso_week(self) -> str:
        """``2025-W07``, in Paris time (the newsroom's week)."""
        return _paris_week(self.published)

    @property
    def word_count(self) -> int:
        return sum(len(p.split()) for p in self.text_paragraphs)


@dataclass(frozen=True)
class DemoCorpus:
    sources: tuple[DemoSource, ...]
    articles: tuple[DemoArticle, ...]  # by publication time, then id

    @cached_property
    def _by_id(self) -> dict[str, DemoArticle]:
        return {a.id: a for a in self.articles}

    def source(self, source_id: str) -> DemoSource:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)

    def article(self, article_id: str) -> DemoArticle | None:
        return self._by_id.get(article_id)

    def articles_of(self, source_id: str) -> list[DemoArticle]:
        return [a for a in self.articles if a.source == source_id]

    def window(
        self, source_id: str, now: datetime, span: timedelta = FEED_WINDOW
    ) -> list[DemoArticle]:
        """The source's articles with ``now - span < published <= now``, newest first."""
        now = utc(now)
        return sorted(
            (a for a in self.articles if a.source == source_id and now - span < a.published <= now),
            key=lambda a: (a.published, a.id),
            reverse=True,
        )

    def weeks(self) -> list[str]:
        return sorted({a.iso_week for a in self.articles})

    @property
    def first_published(self) -> datetime:
        return self.articles[0].published

    @property
    def last_published(self) -> datetime:
        return self.articles[-1].published


def utc(dt: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is a programming error."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: pass a timezone-aware time")
    return dt.astimezone(UTC)


# --------------------------------------------------------------------------- loading


def _validated(
    doc: YamlDoc | None,
    model: Any,
    problems: list[ConfigProblem],
    context: dict[str, Any] | None = None,
) -> Any:
    if doc is None:
        return None
    try:
        return validate(doc, model, context)
    except ConfigError as e:
        problems += e.problems
        return None


def _read(path: Path, problems: list[ConfigProblem]) -> YamlDoc | None:
    try:
        return read_yaml(path)
    except ConfigError as e:
        problems += e.problems
        return None


def _duplicate_ids(docs: list[YamlDoc]) -> list[ConfigProblem]:
    """Article ids used twice, in one file or across files (checked on the raw data, so a
    duplicate is reported even when its file has other problems)."""
    out: list[ConfigProblem] = []
    seen: dict[str, tuple[Path, int | None]] = {}
    for doc in docs:
        raw = doc.data.get("articles") if isinstance(doc.data, dict) else None
        for i, entry in enumerate(raw if isinstance(raw, list) else []):
            art_id = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(art_id, str):
                continue
            line = line_of(doc, ("articles", i))
            if art_id in seen:
                other, other_line = seen[art_id]
                out.append(
                    ConfigProblem(
                        str(doc.path),
                        line,
                        f"({art_id}).id",
                        f"duplicate article id (also at {other.name}:{other_line})",
                    )
                )
                continue
            seen[art_id] = (doc.path, line)
    return out


def load_corpus(directory: Path | None = None) -> DemoCorpus:
    """Read ``outlets.yaml`` and ``articles/*.yaml`` under ``directory`` (default: the corpus
    shipped with the package). Raises :class:`ConfigError` listing every problem."""
    directory = directory or default_corpus_dir()
    problems: list[ConfigProblem] = []
    outlets_file = _validated(_read(directory / "outlets.yaml", problems), OutletsFile, problems)
    outlets = {o.id: o for o in outlets_file.outlets} if outlets_file is not None else None
    files = sorted((directory / "articles").glob("*.yaml"))
    if not files:
        problems.append(
            ConfigProblem(
                str(directory / "articles"), None, "(files)", "no article file (articles/*.yaml)"
            )
        )
    docs = [d for d in (_read(f, problems) for f in files) if d is not None]
    entries: list[ArticleEntry] = []
    for doc in docs:
        parsed = _validated(doc, ArticleFile, problems, {"outlets": outlets})
        if parsed is not None:
            entries += parsed.articles
    problems += _duplicate_ids(docs)
    if problems or outlets is None:
        raise ConfigError(problems)
    sources = tuple(
        DemoSource(o.id, o.name, o.language, o.tagline, tuple(o.journalists))
        for o in outlets.values()
    )
    articles = sorted(
        (
            DemoArticle(
                id=e.id,
                source=e.source,
                published=e.published,
                title=e.title,
                lede=e.lede,
                body=e.body,
                language=e.language or outlets[e.source].language,
                tags=tuple(e.tags),
            )
            for e in entries
        ),
        key=lambda a: (a.published, a.id),
    )
    return DemoCorpus(sources=sources, articles=tuple(articles))


# --------------------------------------------------------------------------- simulated time


def demo_days(corpus: DemoCorpus) -> list[date]:
    """Every calendar day (Paris time) from the first to the last article, inclusive."""
    first = corpus.first_published.astimezone(PARIS).date()
    last = corpus.last_published.astimezone(PARIS).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def end_of_day(day: date, at: time = time(23, 30)) -> datetime:
    """``day`` at ``at`` Paris time, as an aware UTC datetime: a natural daily ``--now``."""
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(UTC)


class SimulatedClock:
    """A settable ``now_getter`` for :func:`signals.demo_site.make_router`."""

    def __init__(self, now: datetime) -> None:
        self.now = utc(now)

    def set(self, now: datetime) -> None:
        self.now = utc(now)

    def __call__(self) -> datetime:
        return self.now
