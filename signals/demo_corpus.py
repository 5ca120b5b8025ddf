"""The offline demo corpus (``examples/demo/``) and the router that serves it.

The corpus is data written by the project: fictional outlets (``outlets.yaml``) and fictional
articles (``articles/2025-Www.yaml``, one file per ISO week). Every article is marked as demo
data in its body. :func:`load_corpus` reads and validates it into typed dataclasses;
:func:`make_router` turns it into a :data:`signals.devserver.Router` that serves, as of a
simulated "now":

* ``/feeds/<source>.xml``: an RSS 2.0 feed of the source's articles published in the
  :data:`FEED_WINDOW` before now (never after it), with ETag / Last-Modified and 304 answers;
* ``/articles/<id>.html``: a full HTML5 article page (404 before the article is published);
* ``/``: a small index of the feeds.

:func:`demo_sources_yaml` writes the ``sources.yaml`` that points the real pipeline at it.
Pure apart from reading the corpus files; no network, no clock (the caller passes ``now``).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape
from zoneinfo import ZoneInfo

import yaml

from .devserver import Response, Router
from .errors import ConfigError, ConfigProblem

PARIS = ZoneInfo("Europe/Paris")
FEED_WINDOW = timedelta(days=3)
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")

# The last paragraph of every body, by language: the corpus is visibly fictional.
DEMO_MARKERS: dict[str, str] = {
    "fr": "— Article fictif, corpus de démonstration Signals.",
    "en": "— Fictional article, Signals demo corpus.",
}
MIN_WORDS, MAX_WORDS = 120, 350  # body length, marker excluded
MIN_PARAGRAPHS, MAX_PARAGRAPHS = 3, 6  # marker excluded

_ARTICLE_KEYS = {"id", "source", "published", "title", "lede", "body", "tags", "language"}
_REQUIRED_KEYS = ("id", "source", "published", "title", "lede", "body")


def default_corpus_dir() -> Path:
    """``examples/demo`` of the source checkout this package lives in."""
    return Path(__file__).resolve().parent.parent / "examples" / "demo"


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
        return tuple(
            " ".join(p.split()) for p in re.split(r"\n\s*\n", self.body.strip()) if p.strip()
        )

    @property
    def text_paragraphs(self) -> tuple[str, ...]:
        """Body paragraphs without the demo marker."""
        paras = self.paragraphs
        return paras[:-1] if paras and paras[-1] in DEMO_MARKERS.values() else paras

    @property
    def path(self) -> str:
        return f"/articles/{self.id}.html"

    @property
    def iso_week(self) -> str:
        """``2025-W07``, in Paris time (the newsroom's week)."""
        y, w, _ = self.published.astimezone(PARIS).isocalendar()
        return f"{y}-W{w:02d}"

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
        now = _utc(now)
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


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: pass a timezone-aware time")
    return dt.astimezone(UTC)


# --------------------------------------------------------------------------- loading


class _Problems:
    def __init__(self) -> None:
        self.items: list[ConfigProblem] = []

    def add(self, file: Path, line: int | None, key: str, message: str) -> None:
        self.items.append(ConfigProblem(str(file), line, key, message))


def _read_yaml(path: Path, problems: _Problems) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(path, None, "(file)", "file not found")
        return None, None
    except (OSError, UnicodeDecodeError) as e:
        problems.add(path, None, "(file)", f"cannot read: {e}")
        return None, None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        problems.add(path, mark.line + 1 if mark else None, "(syntax)", f"invalid YAML: {problem}")
        return None, None
    return data, node


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for k, v in node.value:
            if k.value == key:
                return v
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _load_sources(path: Path, problems: _Problems) -> list[DemoSource]:
    data, root = _read_yaml(path, problems)
    if data is None and root is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("outlets"), list):
        problems.add(path, _line(root), "outlets", "expected a mapping with an 'outlets' list")
        return []
    out: list[DemoSource] = []
    seq = _child(root, "outlets")
    for i, raw in enumerate(data["outlets"]):
        node = _child(seq, i)
        key = f"outlets[{i}]"
        if not isinstance(raw, dict):
            problems.add(path, _line(node), key, "expected a mapping")
            continue
        unknown = set(raw) - {"id", "name", "language", "tagline", "journalists"}
        if unknown:
            problems.add(path, _line(node), key, f"unknown key(s): {', '.join(sorted(unknown))}")
        sid, name, lang = raw.get("id"), raw.get("name"), raw.get("language")
        if not isinstance(sid, str) or not ID_RE.match(sid):
            problems.add(
                path, _line(node), f"{key}.id", f"expected an id like 'le-journal', got {sid!r}"
            )
            continue
        if not isinstance(name, str) or not name.strip():
            problems.add(path, _line(node), f"{key}({sid}).name", "missing or empty")
        if lang not in DEMO_MARKERS:
            problems.add(
                path,
                _line(node),
                f"{key}({sid}).language",
                f"expected one of {sorted(DEMO_MARKERS)}, got {lang!r}",
            )
        journalists = raw.get("journalists") or []
        if not isinstance(journalists, list) or not all(
            isinstance(j, str) and j.strip() for j in journalists
        ):
            problems.add(path, _line(node), f"{key}({sid}).journalists", "expected a list of names")
            journalists = []
        if any(s.id == sid for s in out):
            problems.add(path, _line(node), f"{key}.id", f"duplicate outlet id {sid!r}")
            continue
        out.append(
            DemoSource(
                id=sid,
                name=str(name or sid),
                language=str(lang),
                tagline=str(raw.get("tagline") or ""),
                journalists=tuple(journalists),
            )
        )
    if not out:
        problems.add(path, _line(root), "outlets", "no outlet defined")
    return out


def _parse_published(value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        dt = datetime.fromisoformat(value)
    else:
        raise ValueError(f"expected an ISO-8601 date-time with a UTC offset, got {value!r}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{value!s} has no UTC offset (write e.g. 2025-01-06T07:45:00+01:00)")
    return dt.astimezone(UTC)


def _single_line(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(value.split())


def _load_article_file(
    path: Path, sources: dict[str, DemoSource], problems: _Problems
) -> list[tuple[DemoArticle, int | None]]:
    """The file's valid articles, each with its line."""
    data, root = _read_yaml(path, problems)
    if data is None and root is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("articles"), list):
        problems.add(
            path, _line(root), "articles", "expected a mapping with 'week' and an 'articles' list"
        )
        return []
    week = data.get("week")
    if not isinstance(week, str) or not WEEK_RE.match(week):
        problems.add(
            path,
            _line(_child(root, "week")),
            "week",
            f"expected an ISO week like 2025-W07, got {week!r}",
        )
        week = None
    seq = _child(root, "articles")
    out: list[tuple[DemoArticle, int | None]] = []
    for i, raw in enumerate(data["articles"]):
        node = _child(seq, i)
        art_id = raw.get("id") if isinstance(raw, dict) else None
        key = f"articles[{i}]" + (f"({art_id})" if isinstance(art_id, str) else "")

        def bad(
            field_name: str, message: str, *, _node: yaml.Node | None = node, _key: str = key
        ) -> None:
            problems.add(
                path,
                _line(_child(_node, field_name)) or _line(_node),
                f"{_key}.{field_name}",
                message,
            )

        if not isinstance(raw, dict):
            problems.add(path, _line(node), key, "expected a mapping")
            continue
        before = len(problems.items)
        for unknown in sorted(set(raw) - _ARTICLE_KEYS):
            bad(unknown, f"unknown key (valid keys: {', '.join(sorted(_ARTICLE_KEYS))})")
        for required in _REQUIRED_KEYS:
            if raw.get(required) in (None, ""):
                bad(required, "missing")
        if len(problems.items) > before:
            continue
        if not isinstance(art_id, str) or not ID_RE.match(art_id):
            bad("id", f"expected lowercase letters, digits and dashes, got {art_id!r}")
            continue
        src = sources.get(str(raw["source"]))
        if src is None:
            bad("source", f"unknown outlet {raw['source']!r} (known: {', '.join(sorted(sources))})")
            continue
        try:
            published = _parse_published(raw["published"])
        except ValueError as e:
            bad("published", str(e))
            continue
        language = raw.get("language", src.language)
        if language not in DEMO_MARKERS:
            bad("language", f"expected one of {sorted(DEMO_MARKERS)}, got {language!r}")
            continue
        title, lede = _single_line(raw["title"]), _single_line(raw["lede"])
        if title is None:
            bad("title", "expected a non-empty string")
        if lede is None:
            bad("lede", "expected a non-empty string")
        body = raw["body"]
        if not isinstance(body, str):
            bad("body", "expected a string (paragraphs separated by blank lines)")
            continue
        tags = raw.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            bad("tags", "expected a list of strings")
            tags = []
        if title is None or lede is None:
            continue
        art = DemoArticle(
            id=art_id,
            source=src.id,
            published=published,
            title=title,
            lede=lede,
            body=body.strip() + "\n",
            language=str(language),
            tags=tuple(t.strip() for t in tags),
        )
        marker = DEMO_MARKERS[art.language]
        if not art.paragraphs or art.paragraphs[-1] != marker:
            bad("body", f"the last paragraph must be the demo marker {marker!r}")
        n_par = len(art.text_paragraphs)
        if not MIN_PARAGRAPHS <= n_par <= MAX_PARAGRAPHS:
            bad(
                "body",
                f"{n_par} paragraphs; expected {MIN_PARAGRAPHS} to {MAX_PARAGRAPHS} before the marker",
            )
        if not MIN_WORDS <= art.word_count <= MAX_WORDS:
            bad("body", f"{art.word_count} words; expected {MIN_WORDS} to {MAX_WORDS}")
        if week is not None and art.iso_week != week:
            bad(
                "published",
                f"{art.published.astimezone(PARIS).isoformat()} is in {art.iso_week}, not in this file's week {week}",
            )
        out.append((art, _line(node)))
    return out


def load_corpus(directory: Path | None = None) -> DemoCorpus:
    """Read ``outlets.yaml`` and ``articles/*.yaml`` under ``directory`` (default: the
    checkout's ``examples/demo``). Raises :class:`ConfigError` listing every problem."""
    directory = directory or default_corpus_dir()
    problems = _Problems()
    sources = _load_sources(directory / "outlets.yaml", problems)
    by_id = {s.id: s for s in sources}
    files = sorted((directory / "articles").glob("*.yaml"))
    if not files:
        problems.add(directory / "articles", None, "(files)", "no article file (articles/*.yaml)")
    articles: list[DemoArticle] = []
    seen: dict[str, tuple[Path, int | None]] = {}
    for f in files:
        for art, line in _load_article_file(f, by_id, problems):
            if art.id in seen:
                other, other_line = seen[art.id]
                problems.add(
                    f,
                    line,
                    f"({art.id}).id",
                    f"duplicate article id (also at {other.name}:{other_line})",
                )
                continue
            seen[art.id] = (f, line)
            articles.append(art)
    if problems.items:
        raise ConfigError(problems.items)
    articles.sort(key=lambda a: (a.published, a.id))
    return DemoCorpus(sources=tuple(sources), articles=tuple(articles))


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
    """A settable ``now_getter`` for :func:`make_router`."""

    def __init__(self, now: datetime) -> None:
        self.now = _utc(now)

    def set(self, now: datetime) -> None:
        self.now = _utc(now)

    def __call__(self) -> datetime:
        return self.now


# --------------------------------------------------------------------------- HTTP


def _http_date(dt: datetime) -> str:
    return format_datetime(dt.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _not_modified(headers: dict[str, str], etag: str, last_modified: datetime) -> bool:
    """RFC 9110 conditional GET: If-None-Match wins over If-Modified-Since."""
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)
    ims = headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


def _respond(
    headers: dict[str, str], body: bytes, content_type: str, last_modified: datetime
) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    hdrs = {
        "ETag": etag,
        "Last-Modified": _http_date(last_modified),
        "Cache-Control": "no-cache",
    }
    if _not_modified(headers, etag, last_modified):
        return Response(304, b"", hdrs)
    return Response(200, body, {**hdrs, "Content-Type": content_type})


def _not_found(what: str) -> Response:
    page = (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>404</title></head>'
        f"<body><h1>Page introuvable</h1><p>{html.escape(what)}</p></body></html>"
    )
    return Response(404, page.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _base_url(headers: dict[str, str]) -> str:
    host = headers.get("host", "").strip()
    if not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+", host):
        host = "127.0.0.1"
    return f"http://{host}"


def _byline(src: DemoSource, art: DemoArticle) -> str:
    if not src.journalists:
        return "La rédaction" if art.language == "fr" else "Staff reporter"
    h = int(hashlib.sha256(art.id.encode()).hexdigest(), 16)
    return src.journalists[h % len(src.journalists)]


def _feed_last_change(articles: Iterable[DemoArticle], now: datetime, span: timedelta) -> datetime:
    """When the feed's content last changed: an article entered (published) or left
    (published + span) the window. Before the first article: the epoch."""
    moments = [t for a in articles for t in (a.published, a.published + span) if t <= now]
    return max(moments, default=datetime(1970, 1, 1, tzinfo=UTC))


def render_feed(
    corpus: DemoCorpus, source_id: str, now: datetime, base_url: str, span: timedelta = FEED_WINDOW
) -> str:
    """The RSS 2.0 document of ``source_id`` as of ``now``."""
    src = corpus.source(source_id)
    items = corpus.window(source_id, now, span)
    feed_url = f"{base_url}/feeds/{src.id}.xml"
    build = _feed_last_change(corpus.articles_of(source_id), _utc(now), span)
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        "<channel>",
        f"<title>{xml_escape(src.name)}</title>",
        f"<link>{xml_escape(base_url)}/</link>",
        f'<atom:link href="{xml_escape(feed_url)}" rel="self" type="application/rss+xml"/>',
        f"<description>{xml_escape(src.tagline or src.name)} (site de démonstration, contenu fictif)</description>",
        f"<language>{src.language}</language>",
        f"<lastBuildDate>{_http_date(build)}</lastBuildDate>",
        "<generator>signals demo corpus</generator>",
        "<ttl>60</ttl>",
    ]
    for a in items:
        link = f"{base_url}{a.path}"
        lines += [
            "<item>",
            f"<title>{xml_escape(a.title)}</title>",
            f"<link>{xml_escape(link)}</link>",
            f'<guid isPermaLink="false">urn:signals-demo:{a.id}</guid>',
            f"<pubDate>{_http_date(a.published)}</pubDate>",
            f"<dc:creator>{xml_escape(_byline(src, a))}</dc:creator>",
            *(f"<category>{xml_escape(t)}</category>" for t in a.tags),
            f"<description>{xml_escape(a.lede)}</description>",
            "</item>",
        ]
    lines += ["</channel>", "</rss>", ""]
    return "\n".join(lines)


_MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre"]  # fmt: skip
_MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"]  # fmt: skip

_SECTIONS = {
    "fr": ["À la une", "Politique", "Économie", "Société", "Culture", "Sports", "Météo"],
    "en": ["Home", "Politics", "Business", "Society", "Culture", "Sport", "Weather"],
}

_CSS = """body{font-family:Georgia,serif;margin:0;color:#222;background:#fafafa}
.demo-banner{background:#ffe9a8;padding:.4em 1em;font:14px sans-serif;text-align:center}
header.site{background:#1d3557;color:#fff;padding:1em 2em}header.site a{color:#fff;text-decoration:none}
header.site .brand{font-size:1.8em;font-weight:bold}header.site nav ul{list-style:none;padding:0;margin:.5em 0 0}
header.site nav li{display:inline;margin-right:1.2em;font:14px sans-serif}
.layout{display:flex;gap:2em;max-width:1100px;margin:1.5em auto;padding:0 1em}
article{flex:3;background:#fff;padding:1em 2em}aside{flex:1;font:14px sans-serif}
.kicker{text-transform:uppercase;color:#c0392b;font:bold 13px sans-serif}.chapo{font-size:1.15em}
.meta{color:#666;font:14px sans-serif}footer{background:#eee;padding:1em 2em;font:13px sans-serif}"""


def _human_date(dt: datetime, language: str) -> str:
    local = dt.astimezone(PARIS)
    if language == "fr":
        day = "1er" if local.day == 1 else str(local.day)
        return f"Publié le {day} {_MONTHS_FR[local.month - 1]} {local.year} à {local:%H}h{local:%M}"
    return f"Published {local.day} {_MONTHS_EN[local.month - 1]} {local.year}, {local:%H:%M} {local.tzname()}"


def render_article(
    corpus: DemoCorpus, art: DemoArticle, base_url: str, now: datetime | None = None
) -> str:
    """A full HTML5 page for ``art``: masthead, navigation, the article, a "related" box
    (earlier articles of the same outlet, never later than ``now``) and a footer."""
    src = corpus.source(art.source)
    fr = art.language == "fr"
    e = html.escape
    url = f"{base_url}{art.path}"
    author = _byline(src, art)
    published_iso = art.published.astimezone(PARIS).isoformat()
    cutoff = _utc(now) if now is not None else art.published
    related = [
        a
        for a in reversed(corpus.articles_of(src.id))
        if a.id != art.id and a.published <= min(cutoff, art.published)
    ][:4]
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": art.title,
        "description": art.lede,
        "datePublished": published_iso,
        "inLanguage": art.language,
        "author": {"@type": "Person", "name": author},
        "publisher": {"@type": "Organization", "name": src.name},
        "mainEntityOfPage": url,
    }
    banner = (
        "Site de démonstration : ce journal et cet article sont fictifs (corpus Signals)."
        if fr
        else "Demo site: this newspaper and this article are fictional (Signals corpus)."
    )
    kicker = art.tags[0] if art.tags else _SECTIONS[art.language][0]
    nav = "".join(f'<li><a href="{base_url}/">{e(s)}</a></li>' for s in _SECTIONS[art.language])
    paras = "\n".join(f"<p>{e(p)}</p>" for p in art.paragraphs)
    rel_items = "\n".join(
        f'<li><a href="{base_url}{a.path}">{e(a.title)}</a></li>' for a in related
    )
    related_title = "À lire aussi" if fr else "Related"
    by = "Par" if fr else "By"
    rights = (
        "Tous droits réservés — journal fictif"
        if fr
        else "All rights reserved — fictional newspaper"
    )
    legal = (
        ["Mentions légales", "Contact", "Abonnement"]
        if fr
        else ["Legal notice", "Contact", "Subscribe"]
    )
    footer_links = " · ".join(f'<a href="{base_url}/">{e(x)}</a>' for x in legal)
    tags_html = ", ".join(e(t) for t in art.tags)
    ld_json = json.dumps(ld, ensure_ascii=False).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="{art.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(art.title)} | {e(src.name)}</title>
<meta name="description" content="{e(art.lede)}">
<meta name="author" content="{e(author)}">
<meta property="og:type" content="article">
<meta property="og:title" content="{e(art.title)}">
<meta property="og:description" content="{e(art.lede)}">
<meta property="og:site_name" content="{e(src.name)}">
<meta property="article:published_time" content="{published_iso}">
<link rel="canonical" href="{e(url)}">
<script type="application/ld+json">{ld_json}</script>
<style>{_CSS}</style>
</head>
<body>
<div class="demo-banner" role="note">{e(banner)}</div>
<header class="site">
<a class="brand" href="{base_url}/">{e(src.name)}</a>
<div class="tagline">{e(src.tagline)}</div>
<nav aria-label="{"Rubriques" if fr else "Sections"}"><ul>{nav}</ul></nav>
</header>
<div class="layout">
<main>
<article>
<p class="kicker">{e(kicker)}</p>
<h1>{e(art.title)}</h1>
<p class="chapo">{e(art.lede)}</p>
<p class="meta">{by} <span class="author">{e(author)}</span> — <time datetime="{published_iso}">{_human_date(art.published, art.language)}</time></p>
<div class="article-body">
{paras}
</div>
<p class="tags">{"Mots-clés" if fr else "Topics"} : {tags_html}</p>
</article>
</main>
<aside class="related">
<h2>{related_title}</h2>
<ul>
{rel_items}
</ul>
</aside>
</div>
<footer>
<p>© {art.published.year} {e(src.name)}. {rights}. {footer_links}</p>
</footer>
</body>
</html>
"""


def _render_index(corpus: DemoCorpus, base_url: str) -> str:
    items = "\n".join(
        f'<li><a href="{base_url}/feeds/{s.id}.xml">{html.escape(s.name)}</a> ({s.language})</li>'
        for s in corpus.sources
    )
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"><title>Signals — corpus de démonstration</title>'
        "</head><body><h1>Signals — corpus de démonstration</h1>"
        "<p>Journaux et articles fictifs servis par <code>signals demo</code>.</p>"
        f"<ul>{items}</ul></body></html>\n"
    )


_FEED_PATH = re.compile(r"^/feeds/([a-z0-9-]+)\.xml$")
_ARTICLE_PATH = re.compile(r"^/articles/([a-z0-9-]+)\.html$")


def make_router(
    corpus: DemoCorpus, now_getter: Callable[[], datetime], span: timedelta = FEED_WINDOW
) -> Router:
    """A :data:`Router` serving ``corpus`` as of ``now_getter()`` (read on every request)."""
    source_ids = {s.id for s in corpus.sources}

    def route(path: str, headers: dict[str, str]) -> Response:
        now = _utc(now_getter())
        headers = {k.lower(): v for k, v in headers.items()}
        base = _base_url(headers)
        p = urlsplit(path).path
        if p in ("/", "/index.html"):
            return Response(
                200,
                _render_index(corpus, base).encode(),
                {"Content-Type": "text/html; charset=utf-8"},
            )
        m = _FEED_PATH.match(p)
        if m:
            if m.group(1) not in source_ids:
                return _not_found(f"unknown feed {m.group(1)}")
            body = render_feed(corpus, m.group(1), now, base, span).encode("utf-8")
            changed = _feed_last_change(corpus.articles_of(m.group(1)), now, span)
            return _respond(headers, body, "application/rss+xml; charset=utf-8", changed)
        m = _ARTICLE_PATH.match(p)
        if m:
            art = corpus.article(m.group(1))
            if art is None or art.published > now:  # not (yet) published
                return _not_found(f"no article {m.group(1)}")
            body = render_article(corpus, art, base, now).encode("utf-8")
            return _respond(headers, body, "text/html; charset=utf-8", art.published)
        return _not_found(p)

    return route


# --------------------------------------------------------------------------- sources.yaml


def demo_sources_yaml(base_url: str, corpus: DemoCorpus) -> str:
    """A ``sources.yaml`` (schema: :class:`signals.config.Sources`) for the demo outlets
    served at ``base_url`` (e.g. ``http://127.0.0.1:8765``)."""
    base = base_url.rstrip("/")
    q = json.dumps  # a JSON string is a valid YAML scalar
    lines = [
        "# Sources of the Signals demo: fictional outlets served on the loopback by `signals demo`.",
        "# Generated by signals.demo_corpus.demo_sources_yaml; do not edit.",
        "defaults: {interval_minutes: 60, fetch_pages: true, language: fr}",
        'fetch: {allow_networks: ["127.0.0.0/8"]}',
        "sources:",
    ]
    for s in corpus.sources:
        lines += [
            f"  - id: {s.id}",
            f"    name: {q(s.name + ' (démo)', ensure_ascii=False)}",
            f"    url: {q(f'{base}/feeds/{s.id}.xml')}",
        ]
        if s.language != "fr":
            lines.append(f"    language: {s.language}")
        lines.append("    tags: [demo]")
    return "\n".join(lines) + "\n"
