"""The fetch stage: HTTP (``http.Fetcher``) behind an SSRF guard (``guard``), feed parsing
(``feeds``), URL canonicalisation (``urls``), backoff (``backoff``) and item dates (``dates``).

Modules: ``urls`` → ``guard`` / ``deadline`` → ``http`` → ``feeds``; ``backoff`` and ``dates``
are pure helpers used by the pipeline.

Names are imported from their module on first use (PEP 562): httpx and feedparser cost a
quarter of a second that an idle ``signals run`` (nothing due) never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backoff import next_attempt, should_disable
    from .dates import effective_date
    from .feeds import PROBLEMS, decode_html, parse_feed, plain_text, refusal
    from .guard import AddressGuard, GuardedTransport, blocked_reason
    from .http import FEED_ACCEPT, HTML_ACCEPT, REASONS, Fetcher
    from .urls import canonicalize

_MODULES = {
    "next_attempt": "backoff",
    "should_disable": "backoff",
    "effective_date": "dates",
    "PROBLEMS": "feeds",
    "decode_html": "feeds",
    "parse_feed": "feeds",
    "plain_text": "feeds",
    "refusal": "feeds",
    "AddressGuard": "guard",
    "GuardedTransport": "guard",
    "blocked_reason": "guard",
    "FEED_ACCEPT": "http",
    "HTML_ACCEPT": "http",
    "REASONS": "http",
    "Fetcher": "http",
    "canonicalize": "urls",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "FEED_ACCEPT",
    "HTML_ACCEPT",
    "PROBLEMS",
    "REASONS",
    "AddressGuard",
    "Fetcher",
    "GuardedTransport",
    "blocked_reason",
    "canonicalize",
    "decode_html",
    "effective_date",
    "next_attempt",
    "parse_feed",
    "plain_text",
    "refusal",
    "should_disable",
]
