"""HTML (a decoded ``str``) → main text and metadata, with trafilatura. Pure: takes content."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .models import Extracted

log = logging.getLogger(__name__)
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=1)
def _trafilatura() -> tuple[Any, Any]:
    """trafilatura and its config, imported on the first page (an idle start-up never pays)."""
    import trafilatura
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")  # signals don't work off the main thread
    return trafilatura, config


def extract(html: str, url: str | None = None) -> Extracted:
    """Main text of a page; empty text when nothing usable is found (the caller falls back
    to the feed summary). Never raises on bad HTML."""
    trafilatura, config = _trafilatura()
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=False,
            favor_precision=True, config=config,
        )
    except Exception as e:  # trafilatura/lxml can fail on pathological markup
        log.debug("extraction failed for %s: %s", url, e)
        return Extracted(text="")
    if doc is None:
        return Extracted(text="")
    text = (getattr(doc, "text", None) or "").strip()
    published = None
    raw_date = getattr(doc, "date", None)
    if raw_date:
        try:
            published = datetime.fromisoformat(raw_date).replace(tzinfo=UTC)
        except ValueError:
            published = None
    lang = getattr(doc, "language", None)
    return Extracted(text=text, title=getattr(doc, "title", None), published=published,
                     language=lang if isinstance(lang, str) else None)


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
