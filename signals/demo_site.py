"""The demo corpus as a website: RSS feeds and article pages as of a simulated "now".

:func:`make_router` turns a :class:`~signals.demo_corpus.DemoCorpus` into a
:data:`signals.devserver.Router` that serves, as of ``now_getter()``:

* ``/feeds/<source>.xml``: an RSS 2.0 feed of the source's articles published in the
  :data:`~signals.demo_corpus.FEED_WINDOW` before now (never after it), with ETag /
  Last-Modified and 304 answers;
* ``/articles/<id>.html``: a full HTML5 article page (404 before the article is published);
* ``/``: a small index of the feeds.

:func:`demo_sources_yaml` writes the ``sources.yaml`` that points the real pipeline at it, and
:func:`write_archive` keeps a copy of every page beside the digest (the server is gone after the
demo). Pure apart from writing the archive; no network, no clock.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from .demo_corpus import FEED_WINDOW, PARIS, DemoArticle, DemoCorpus, DemoSource, utc
from .devserver import Response, Router

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
    build = _feed_last_change(corpus.articles_of(source_id), utc(now), span)
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
    cutoff = utc(now) if now is not None else art.published
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
        now = utc(now_getter())
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


# --------------------------------------------------------------------------- archive

ARCHIVE_DIR = "demo"  # under the reports directory: demo/articles/<id>.html


def write_archive(corpus: DemoCorpus, reports_dir: Path, now: datetime) -> Path:
    """Write every page published by ``now`` as ``reports_dir/demo/articles/<id>.html``, with
    relative links, so that a digest opened from disk links to pages that open. Returns the
    archive's directory."""
    root = reports_dir / ARCHIVE_DIR
    pages = root / "articles"
    pages.mkdir(parents=True, exist_ok=True)
    now = utc(now)
    for art in corpus.articles:
        if art.published <= now:
            page = render_article(corpus, art, "..", now)
            (pages / f"{art.id}.html").write_text(page, encoding="utf-8")
    (root / "index.html").write_text(_render_archive_index(corpus, now), encoding="utf-8")
    return root


def _render_archive_index(corpus: DemoCorpus, now: datetime) -> str:
    items = "\n".join(
        f'<li><a href="articles/{a.id}.html">{html.escape(a.title)}</a> '
        f"({html.escape(corpus.source(a.source).name)}, {a.published.astimezone(PARIS):%Y-%m-%d})</li>"
        for a in reversed(corpus.articles)
        if a.published <= now
    )
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        "<title>Signals — archive du corpus de démonstration</title></head><body>"
        "<h1>Signals — archive du corpus de démonstration</h1>"
        "<p>Copies des pages fictives servies par <code>signals demo</code>.</p>"
        f"<ul>{items}</ul></body></html>\n"
    )


def relink_to_archive(paths: Iterable[Path], base_url: str) -> None:
    """Point the article links of digest files written by the demo (served at ``base_url``, a
    loopback server that is gone) at the archived copies: ``demo/articles/<id>.html``,
    relative to the reports directory."""
    served = base_url.rstrip("/") + "/articles/"
    for path in paths:
        if path.suffix in (".md", ".html", ".json") and path.exists():
            text = path.read_text(encoding="utf-8")
            if served in text:
                tmp = path.with_name(path.name + ".tmp")
                tmp.write_text(text.replace(served, f"{ARCHIVE_DIR}/articles/"), encoding="utf-8")
                tmp.replace(path)
