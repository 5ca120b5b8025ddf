"""The fetch stage: HTTP (``http.Fetcher``) behind an SSRF guard (``guard``), feed parsing
(``feeds``), URL canonicalisation (``urls``), backoff (``backoff``) and item dates (``dates``).

Modules: ``urls`` → ``guard`` / ``deadline`` → ``http`` → ``feeds``; ``backoff`` and ``dates``
are pure helpers used by the pipeline.
"""

from .backoff import next_attempt, should_disable
from .dates import effective_date
from .feeds import PROBLEMS, decode_html, parse_feed, plain_text, refusal
from .guard import AddressGuard, GuardedTransport, blocked_reason
from .http import FEED_ACCEPT, HTML_ACCEPT, REASONS, Fetcher
from .urls import canonicalize

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
