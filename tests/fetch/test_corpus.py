"""feedparser's own well-formed test corpus, end to end: served over HTTP by the devserver,
fetched by the Fetcher, parsed by parse_feed. Titles and links must equal what feedparser
gives for the same bytes and headers (put through the same plain-text and canonical-URL
conversion); files declaring entities must be refused."""

from __future__ import annotations

import io
import re
from typing import Any

import feedparser
import pytest

from signals.config import FetchSettings
from signals.devserver import Response
from signals.fetch.feeds import parse_feed, plain_text
from signals.fetch.http import FEED_ACCEPT, Fetcher
from signals.fetch.urls import canonicalize
from signals.models import FetchStatus, ParsedFeed

from .conftest import LOOPBACK, ServerFactory, shared_data

CORPUS = shared_data() / "feeds" / "feedparser-tests" / "tests" / "wellformed"
_HEADER = re.compile(rb"^Header:\s*([A-Za-z-]+):[ \t]*(.*?)\s*$", re.MULTILINE)


def _response_headers(body: bytes) -> dict[str, str]:
    """The headers the feedparser test server sends for a file (its ``Header:`` lines)."""
    headers = {"Content-Type": "application/xml"}
    comment_end = body.find(b"-->")
    for name, value in _HEADER.findall(body[: comment_end if comment_end > 0 else 0]):
        headers[name.decode()] = value.decode("latin-1")
    return headers


def _link(value: Any, url: str) -> str | None:
    # an empty link (feedparser's value when a permalink GUID is unusable) is no link at all,
    # not "the feed itself"
    return canonicalize(value, url) if isinstance(value, str) and value.strip() else None


def _title(obj: Any) -> str:
    detail = obj.get("title_detail") or {}
    return plain_text(obj.get("title"), detail.get("type"), single_line=True)


def _compare(ours: ParsedFeed, ref: Any, url: str) -> list[str]:
    problems = []
    if ours.title != _title(ref.feed):
        problems.append(f"feed title {ours.title!r} != {_title(ref.feed)!r}")
    ref_link = _link(ref.feed.get("link"), url)
    if ours.link != ref_link:
        problems.append(f"feed link {ours.link!r} != {ref_link!r}")
    if ours.problem is not None:
        if ref.entries:
            problems.append(
                f"problem {ours.problem!r} but feedparser found {len(ref.entries)} entries"
            )
        return problems
    if len(ours.entries) != len(ref.entries):
        return [*problems, f"{len(ours.entries)} entries != {len(ref.entries)}"]
    for i, (mine, theirs) in enumerate(zip(ours.entries, ref.entries, strict=True)):
        if mine.title != _title(theirs):
            problems.append(f"entry {i} title {mine.title!r} != {_title(theirs)!r}")
        link = _link(theirs.get("link"), url)
        if mine.link != link:
            problems.append(f"entry {i} link {mine.link!r} != {link!r}")
    return problems


@pytest.mark.skipif(
    not CORPUS.is_dir(),
    reason=f"feedparser test corpus not found at {CORPUS} (set SIGNALS_SHARED_DATA to the shared data directory)",
)
def test_feedparser_wellformed_corpus(server: ServerFactory) -> None:
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    by_path = {f"/{p.relative_to(CORPUS).as_posix()}": p.read_bytes() for p in files}

    def router(path: str, _headers: dict[str, str]) -> Response:
        body = by_path[path]
        return Response(200, body, _response_headers(body))

    srv = server(router)
    failures: dict[str, list[str]] = {}
    refused = parsed = 0
    # a small pool: the devserver writes headers and body separately, so each response
    # waits on Nagle + delayed ACK (~40 ms); sequentially the corpus would take 80 s
    settings = FetchSettings(allow_networks=LOOPBACK, concurrency=8, per_host_concurrency=8)
    with Fetcher(settings) as fetcher:
        results = fetcher.fetch_many([srv.base_url + p for p in by_path], accept=FEED_ACCEPT)
    for path, body in by_path.items():
        r = results[srv.base_url + path]
        if r.status is not FetchStatus.OK or r.body != body:
            failures[path] = [f"fetch: {r.status} {r.reason}, body intact: {r.body == body}"]
            continue
        url = r.final_url or r.url
        ours = parse_feed(r.body, r.headers, url)
        if b"<!entity" in body.lower():
            refused += 1
            if not (ours.problem or "").startswith("refused"):
                failures[path] = [f"declares entities but problem is {ours.problem!r}"]
            continue
        parsed += 1
        headers = {k.lower(): v for k, v in r.headers.items()} | {"content-location": url}
        ref = feedparser.parse(io.BytesIO(body), response_headers=headers)
        problems = _compare(ours, ref, url)
        if problems:
            failures[path] = problems
    shown = "\n".join(f"{p}: {'; '.join(v)}" for p, v in list(failures.items())[:20])
    assert not failures, f"{len(failures)} of {len(by_path)} files differ:\n{shown}"
    assert refused >= 1 and parsed > 1000
