"""HTML (a decoded ``str``) → main text and metadata, with trafilatura. Pure: takes content."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .languages import language_code
from .models import Extracted

log = logging.getLogger(__name__)
_SPACES = re.compile(r"\s+")
#: Where a page declares its language: <html lang>, <meta http-equiv=content-language>, og:locale.
_HTML_LANG = re.compile(
    r"<html\b[^>]*?\s(?:xml:)?lang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)", re.I
)
_META = re.compile(r"<meta\b[^>]*>", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_HEAD = 32_768  # the declarations are in the <head>


@lru_cache(maxsize=1)
def _trafilatura() -> tuple[Any, Any]:
    """trafilatura and its config, imported on the first page (an idle start-up never pays)."""
    import trafilatura
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # signals don't work off the main thread
    return trafilatura, config


def extract(html: str, url: str | None = None, with_date: bool = False) -> Extracted:
    """Main text of a page and its declared language; its date (and title) only ``with_date``
    (trafilatura's metadata pass costs as much as the extraction itself). Empty text when nothing
    usable is found (the caller falls back to the feed summary). Never raises on bad HTML.

    Options: trafilatura's defaults (its best F1 on its own benchmark, see bench/extraction.py)
    without comments, which are readers' text, not the article's."""
    trafilatura, config = _trafilatura()
    language = page_language(html)
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=with_date, include_comments=False, config=config
        )
    except Exception as e:  # trafilatura/lxml can fail on pathological markup
        log.debug("extraction failed for %s: %s", url, e)
        return Extracted(text="", language=language)
    if doc is None:
        return Extracted(text="", language=language)
    text = (getattr(doc, "text", None) or "").strip()
    published = _page_date(getattr(doc, "date", None)) if with_date else None
    title = getattr(doc, "title", None) if with_date else None
    return Extracted(text=text, title=title, published=published, language=language)


def page_language(html: str) -> str | None:
    """The language the page declares, as a 2-letter code (None if it declares none)."""
    head = html[:_HEAD]
    m = _HTML_LANG.search(head)
    if m and (code := language_code(m.group(1))):
        return code
    for tag in _META.finditer(head):
        attrs = {k.lower(): a or b or c for k, a, b, c in _ATTR.findall(tag.group(0))}
        kind = (attrs.get("http-equiv") or attrs.get("property") or attrs.get("name") or "").lower()
        if kind in ("content-language", "og:locale", "language", "dc.language") and (
            code := language_code(attrs.get("content"))
        ):
            return code
    return None


def _page_date(raw: object) -> datetime | None:
    """trafilatura's date ("YYYY-MM-DD") as midnight UTC."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def content_hash(text: str) -> str:
    """Fingerprint of normalised text: identical wire copies collapse to one article."""
    norm = _SPACES.sub(" ", text.lower()).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


def compose_text(title: str, body: str) -> str:
    """Title + body as the analyser sees them (the title is the first sentence)."""
    title = (title or "").strip()
    body = body or ""
    if title and not body.startswith(title):
        return f"{title}.\n{body}" if body else title
    return body
