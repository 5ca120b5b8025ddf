"""The Fetcher against hostile and broken servers (all on 127.0.0.1)."""

from __future__ import annotations

import gzip
import random
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from signals.config import FetchSettings
from signals.devserver import Response
from signals.fetch.feeds import decode_html
from signals.fetch.http import FEED_ACCEPT, HTML_ACCEPT, REASONS, Fetcher, parse_retry_after
from signals.models import FetchResult, FetchStatus

from .conftest import LOOPBACK, ServerFactory, http_response, reply, serve_raw

MB = 1024 * 1024


@contextmanager
def make_fetcher(**overrides: Any) -> Iterator[Fetcher]:
    params: dict[str, Any] = {"allow_networks": LOOPBACK, "timeout_seconds": 10}
    params.update(overrides)
    with Fetcher(FetchSettings(**params)) as f:
        yield f


def fetch_one(server: ServerFactory, response: Response, **kwargs: Any) -> FetchResult:
    srv = server(lambda _path, _headers: response)
    with make_fetcher() as f:
        return f.fetch(srv.base_url + "/feed", **kwargs)


def check_reason(r: FetchResult) -> None:
    assert r.reason in REASONS or r.reason.startswith("http-"), r.reason


# --------------------------------------------------------------------------- status mapping


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        (200, FetchStatus.OK, "ok"),
        (204, FetchStatus.OK, "ok"),
        (400, FetchStatus.SOFT, "http-400"),
        (401, FetchStatus.SOFT, "http-401"),
        (403, FetchStatus.SOFT, "http-403"),
        (404, FetchStatus.SOFT, "http-404"),
        (410, FetchStatus.HARD, "http-410"),
        (429, FetchStatus.TEMP, "http-429"),
        (500, FetchStatus.TEMP, "http-5xx"),
        (502, FetchStatus.TEMP, "http-5xx"),
        (503, FetchStatus.TEMP, "http-5xx"),
        (300, FetchStatus.SOFT, "http-300"),
        (302, FetchStatus.SOFT, "http-302"),  # a redirect without Location
    ],
)
def test_status_mapping(code: int, status: FetchStatus, reason: str, server: ServerFactory) -> None:
    r = fetch_one(
        server, Response(code, b"body" if code != 204 else b"", {"Content-Type": "text/plain"})
    )
    assert (r.status, r.reason, r.http_status) == (status, reason, code)
    check_reason(r)
    if status is not FetchStatus.OK:
        assert r.body is None


def test_ok_result_fields(server: ServerFactory) -> None:
    seen: list[dict[str, str]] = []

    def router(_path: str, headers: dict[str, str]) -> Response:
        seen.append(headers)
        return Response(
            200,
            b"<rss/>",
            {
                "Content-Type": "application/rss+xml; charset=utf-8",
                "ETag": '"v1"',
                "Last-Modified": "Mon, 03 Apr 2023 01:02:03 GMT",
            },
        )

    settings = FetchSettings(
        allow_networks=LOOPBACK, user_agent="SignalsTest/9 (+https://example.org)"
    )
    srv = server(router)
    with Fetcher(settings) as f:
        r = f.fetch(srv.base_url + "/feed")
    assert (r.status, r.reason, r.body, r.http_status) == (FetchStatus.OK, "ok", b"<rss/>", 200)
    assert r.url == r.final_url == srv.base_url + "/feed"
    assert r.content_type == "application/rss+xml; charset=utf-8"
    assert r.headers["etag"] == '"v1"' and r.etag == '"v1"'
    assert r.last_modified == "Mon, 03 Apr 2023 01:02:03 GMT"
    assert r.elapsed > 0
    assert seen[0]["user-agent"] == "SignalsTest/9 (+https://example.org)"
    assert seen[0]["accept"] == FEED_ACCEPT
    assert "if-none-match" not in seen[0]


# --------------------------------------------------------------------------- conditional GET


@pytest.mark.parametrize("with_etag", [True, False])
def test_not_modified(with_etag: bool, server: ServerFactory) -> None:
    seen: list[dict[str, str]] = []

    def router(_path: str, headers: dict[str, str]) -> Response:
        seen.append(headers)
        if headers.get("if-none-match") == '"v1"':
            return Response(304, b"", {"ETag": '"v1"'} if with_etag else {})
        return Response(200, b"<rss/>", {"ETag": '"v1"'})

    lm = "Mon, 03 Apr 2023 01:02:03 GMT"
    srv = server(router)
    with make_fetcher() as f:
        r = f.fetch(srv.base_url + "/feed", etag='"v1"', last_modified=lm)
    assert (r.status, r.reason, r.http_status, r.body) == (
        FetchStatus.NOT_MODIFIED,
        "not-modified",
        304,
        None,
    )
    # without an ETag in the 304, the validators we sent are still the current ones
    assert r.etag == '"v1"'
    assert r.last_modified == lm
    assert seen[0]["if-none-match"] == '"v1"'
    assert seen[0]["if-modified-since"] == lm


# --------------------------------------------------------------------------- Retry-After


def test_retry_after_seconds(server: ServerFactory) -> None:
    r = fetch_one(server, Response(429, b"slow down", {"Retry-After": "120"}))
    assert (r.status, r.reason, r.retry_after) == (FetchStatus.TEMP, "http-429", 120.0)


def test_retry_after_http_date(server: ServerFactory) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    r = fetch_one(server, Response(429, b"", {"Retry-After": format_datetime(when, usegmt=True)}))
    assert (r.status, r.reason) == (FetchStatus.TEMP, "http-429")
    assert r.retry_after is not None and 115 <= r.retry_after <= 121


def test_retry_after_on_503(server: ServerFactory) -> None:
    r = fetch_one(
        server, Response(503, b"maintenance", {"Retry-After": "3600", "Content-Type": "text/plain"})
    )
    assert (r.status, r.reason, r.retry_after) == (FetchStatus.TEMP, "http-5xx", 3600.0)


def test_parse_retry_after() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("-5", now) == 0.0
    assert parse_retry_after("Wed, 01 May 2024 12:02:00 GMT", now) == 120.0
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
    # measured against the server's own Date when it gives one
    assert (
        parse_retry_after("Wed, 01 May 2024 12:02:00 GMT", now, "Wed, 01 May 2024 12:01:00 GMT")
        == 60.0
    )
    for junk in (None, "", "soon", "nan", "inf", "Thu, 99 Foo 2024"):
        assert parse_retry_after(junk, now) is None


# --------------------------------------------------------------------------- redirects


def test_redirect_chain_is_followed(server: ServerFactory) -> None:
    def router(path: str, _headers: dict[str, str]) -> Response:
        if path == "/a":
            return Response(301, b"", {"Location": "/b"})
        if path == "/b":
            return Response(307, b"", {"Location": "c?x=1#frag"})
        return Response(200, b"final")

    srv = server(router)
    with make_fetcher() as f:
        r = f.fetch(srv.base_url + "/a")
    assert (r.status, r.body, r.final_url) == (FetchStatus.OK, b"final", srv.base_url + "/c?x=1")
    assert r.url == srv.base_url + "/a"


@pytest.mark.parametrize("loop", [["/a"], ["/a", "/b"], ["/a", "/b", "/c"]])
def test_redirect_loop(loop: list[str], server: ServerFactory) -> None:
    def router(path: str, _headers: dict[str, str]) -> Response:
        i = loop.index(path)
        return Response(302, b"", {"Location": loop[(i + 1) % len(loop)]})

    srv = server(router)
    with make_fetcher() as f:
        r = f.fetch(srv.base_url + "/a")
    assert (r.status, r.reason) == (FetchStatus.HARD, "redirect-loop")
    assert len(srv.hits) == len(loop)


def test_too_many_redirects(server: ServerFactory) -> None:
    def router(path: str, _headers: dict[str, str]) -> Response:
        n = int(path.strip("/"))
        return Response(302, b"", {"Location": f"/{n + 1}"})

    srv = server(router)
    with make_fetcher(max_redirects=3) as f:
        r = f.fetch(srv.base_url + "/0")
    assert (r.status, r.reason) == (FetchStatus.SOFT, "too-many-redirects")
    assert srv.hits == ["/0", "/1", "/2", "/3"]


def test_cookie_consent_redirect_is_not_a_loop(server: ServerFactory) -> None:
    """/feed without the cookie redirects to /consent, which sets it and sends us back."""

    def router(path: str, headers: dict[str, str]) -> Response:
        if path == "/consent":
            return Response(302, b"", {"Location": "/feed", "Set-Cookie": "ok=1; Path=/"})
        if "ok=1" in headers.get("cookie", ""):
            return Response(200, b"<rss/>")
        return Response(302, b"", {"Location": "/consent"})

    srv = server(router)
    with make_fetcher() as f:
        r = f.fetch(srv.base_url + "/feed")
        assert (r.status, r.body) == (FetchStatus.OK, b"<rss/>")
        # cookies live for one fetch only: the next fetch does the dance again
        f.fetch(srv.base_url + "/feed")
    assert srv.hits == ["/feed", "/consent", "/feed"] * 2


# --------------------------------------------------------------------------- deadline


def drip(conn: socket.socket, _request: bytes, stop: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n"
    )
    while True:
        conn.sendall(b"x")
        if stop.wait(1.0):
            return


def test_drip_is_cut_at_the_deadline() -> None:
    """One byte per second: every read succeeds well within a read timeout, only the total
    deadline stops it — at 3 s ± 1 s."""
    with serve_raw(drip) as srv, make_fetcher(timeout_seconds=3) as f:
        t0 = time.monotonic()
        r = f.fetch(srv.base_url + "/feed")
        took = time.monotonic() - t0
    assert (r.status, r.reason) == (FetchStatus.TEMP, "deadline")
    assert 2.0 <= took <= 4.0, took
    assert 2.0 <= r.elapsed <= 4.0, r.elapsed


def test_silent_server_hits_the_deadline() -> None:
    def silent(_conn: socket.socket, _request: bytes, stop: threading.Event) -> None:
        stop.wait(30)

    with serve_raw(silent) as srv, make_fetcher(timeout_seconds=1) as f:
        r = f.fetch(srv.base_url + "/feed")
    assert (r.status, r.reason) == (FetchStatus.TEMP, "deadline")


def test_injected_clock_drives_the_deadline(server: ServerFactory) -> None:
    ticks = iter(range(0, 10_000, 50))  # every look at the clock: 50 s later

    srv = server(lambda _p, _h: Response(200, b"x"))
    settings = FetchSettings(allow_networks=LOOPBACK, timeout_seconds=60)
    with Fetcher(settings, clock=lambda: float(next(ticks))) as f:
        r = f.fetch(srv.base_url + "/")
    assert (r.status, r.reason) == (FetchStatus.TEMP, "deadline")


# --------------------------------------------------------------------------- body size & encoding


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """512 MB of zeros in about 500 KB."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(MB)
    return b"".join([*(c.compress(block) for _ in range(512)), c.flush()])


def test_gzip_bomb_is_capped_with_bounded_memory(gzip_bomb: bytes, server: ServerFactory) -> None:
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
    srv = server(lambda _p, _h: Response(200, gzip_bomb, headers))
    with make_fetcher() as f:
        tracemalloc.start()
        try:
            r = f.fetch(srv.base_url + "/feed")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (r.status, r.reason, r.body) == (FetchStatus.SOFT, "too-large", None)
    assert peak < 200 * MB, f"peak {peak / MB:.0f} MB"
    assert peak < 4 * f.settings.max_bytes  # in fact: about the cap, not the bomb


def test_oversized_body_with_content_length(server: ServerFactory) -> None:
    big = b"a" * (2 * MB)
    srv = server(lambda _p, _h: Response(200, big))
    with make_fetcher(max_bytes=MB) as f:
        assert f.fetch(srv.base_url + "/").reason == "too-large"
        assert f.fetch(srv.base_url + "/").status is FetchStatus.SOFT


def test_oversized_chunked_body() -> None:
    def chunked(conn: socket.socket, _request: bytes, _stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        chunk = b"b" * 65536
        for _ in range(40):  # 2.5 MB
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.sendall(b"0\r\n\r\n")

    with serve_raw(chunked) as srv, make_fetcher(max_bytes=MB) as f:
        r = f.fetch(srv.base_url + "/")
    assert (r.status, r.reason) == (FetchStatus.SOFT, "too-large")


def test_body_exactly_at_the_cap_is_accepted(server: ServerFactory) -> None:
    body = b"c" * MB
    gz = gzip.compress(body)
    srv = server(lambda _p, _h: Response(200, gz, {"Content-Encoding": "gzip"}))
    with make_fetcher(max_bytes=MB) as f:
        r = f.fetch(srv.base_url + "/")
    assert (r.reason, r.body) == ("ok", body)


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("gzip", gzip.compress(b"<rss>hello</rss>", mtime=0)),
        ("x-gzip", gzip.compress(b"<rss>hello</rss>", mtime=0)),
        (
            "gzip",
            gzip.compress(b"<rss>hel", mtime=0) + gzip.compress(b"lo</rss>", mtime=0),
        ),  # two members
        ("deflate", zlib.compress(b"<rss>hello</rss>")),
        ("deflate", zlib.compress(b"<rss>hello</rss>")[2:-4]),  # raw deflate, as IIS sends
        ("identity", b"<rss>hello</rss>"),
        ("", b"<rss>hello</rss>"),
    ],
)
def test_content_encodings(encoding: str, payload: bytes, server: ServerFactory) -> None:
    r = fetch_one(
        server, Response(200, payload, {"Content-Encoding": encoding} if encoding else {})
    )
    assert (r.reason, r.body) == ("ok", b"<rss>hello</rss>")


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("gzip", b"this is not gzip at all"),
        ("gzip", gzip.compress(random.Random(1).randbytes(5000), mtime=0)[:-200]),  # truncated
        ("deflate", b"\x00\x01garbage"),
        ("br", b"\x0b\x02\x80hello"),  # never asked for
        ("gzip, gzip", gzip.compress(gzip.compress(b"x", mtime=0), mtime=0)),
    ],
)
def test_broken_encodings(encoding: str, payload: bytes, server: ServerFactory) -> None:
    r = fetch_one(server, Response(200, payload, {"Content-Encoding": encoding}))
    assert (r.status, r.reason) == (FetchStatus.SOFT, "decode-error")


# --------------------------------------------------------------------------- challenge pages

CF_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
    b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1"></script>'
    b'<form id="challenge-form" action="/?__cf_chl_f_tk=abc"></form></body></html>'
)
HTML = {"Content-Type": "text/html; charset=UTF-8"}


@pytest.mark.parametrize(
    ("code", "headers", "body", "accept", "status", "reason"),
    [
        (403, HTML, CF_PAGE, FEED_ACCEPT, FetchStatus.SOFT, "challenge-page"),
        (503, HTML, CF_PAGE, FEED_ACCEPT, FetchStatus.SOFT, "challenge-page"),
        (403, HTML, CF_PAGE, HTML_ACCEPT, FetchStatus.SOFT, "challenge-page"),
        (200, HTML, CF_PAGE, FEED_ACCEPT, FetchStatus.SOFT, "challenge-page"),
        (200, HTML, CF_PAGE, HTML_ACCEPT, FetchStatus.SOFT, "challenge-page"),
        (403, HTML, b"<h1>Forbidden</h1>", FEED_ACCEPT, FetchStatus.SOFT, "challenge-page"),
        (503, HTML, b"<h1>Busy</h1>", FEED_ACCEPT, FetchStatus.SOFT, "challenge-page"),
        (
            200,
            HTML,
            b"<p>Please solve this captcha</p>",
            FEED_ACCEPT,
            FetchStatus.SOFT,
            "challenge-page",
        ),
        (
            403,
            {**HTML, "cf-mitigated": "challenge"},
            b"",
            HTML_ACCEPT,
            FetchStatus.SOFT,
            "challenge-page",
        ),
        # not challenges
        (403, HTML, b"<h1>Forbidden</h1>", HTML_ACCEPT, FetchStatus.SOFT, "http-403"),
        (
            403,
            {"Content-Type": "text/plain"},
            b"Forbidden",
            FEED_ACCEPT,
            FetchStatus.SOFT,
            "http-403",
        ),
        (
            503,
            {**HTML, "Retry-After": "60"},
            b"<h1>Maintenance</h1>",
            FEED_ACCEPT,
            FetchStatus.TEMP,
            "http-5xx",
        ),
        (200, HTML, b"<p>An article about captcha farms.</p>", HTML_ACCEPT, FetchStatus.OK, "ok"),
        (
            200,
            {"Content-Type": "application/rss+xml"},
            b"<rss><title>captcha</title></rss>",
            FEED_ACCEPT,
            FetchStatus.OK,
            "ok",
        ),
        (429, HTML, CF_PAGE, FEED_ACCEPT, FetchStatus.TEMP, "http-429"),
    ],
)
def test_challenge_pages(
    code: int,
    headers: dict[str, str],
    body: bytes,
    accept: str,
    status: FetchStatus,
    reason: str,
    server: ServerFactory,
) -> None:
    r = fetch_one(server, Response(code, body, headers), accept=accept)
    assert (r.status, r.reason) == (status, reason)


# --------------------------------------------------------------------------- charsets


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<p>Élève déçu à Noël</p>".encode(), "text/html; charset=utf-8"),
        ("<p>Élève déçu à Noël</p>".encode("latin-1"), "text/html; charset=iso-8859-1"),
        # declared UTF-8, really Latin-1
        ("<p>Élève déçu à Noël</p>".encode("latin-1"), "text/html; charset=utf-8"),
        # declared Latin-1, really UTF-8 (the classic mojibake source)
        ("<p>Élève déçu à Noël</p>".encode(), "text/html; charset=ISO-8859-1"),
        # no header, meta says windows-1252
        ('<meta charset="windows-1252"><p>Élève déçu à Noël</p>'.encode("cp1252"), "text/html"),
        # header names an unknown charset, meta is right
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-15"><p>Élève déçu à Noël</p>'.encode(
                "iso-8859-15"
            ),
            "text/html; charset=x-bogus",
        ),
        # nothing declared
        ("<p>Élève déçu à Noël</p>".encode(), None),
        ("\ufeff<p>Élève déçu à Noël</p>".encode("utf-16-le"), "text/html; charset=utf-8"),
    ],
)
def test_wrong_charset_is_survived(
    body: bytes, content_type: str | None, server: ServerFactory
) -> None:
    r = fetch_one(
        server,
        Response(200, body, {"Content-Type": content_type} if content_type else {}),
        accept=HTML_ACCEPT,
    )
    assert r.body is not None
    assert "Élève déçu à Noël" in decode_html(r.body, r.content_type)


def test_decode_html_detects_undeclared_legacy_charset() -> None:
    text = (
        "Le ministère a précisé que les élèves étaient très nombreux à être reçus à l'école. " * 5
    )
    out = decode_html(text.encode("cp1252"), None)
    assert "ministère" in out and "élèves" in out


def test_decode_html_never_raises_on_garbage() -> None:
    assert isinstance(decode_html(bytes(range(256)) * 10, "text/html; charset=utf-8"), str)
    assert decode_html(b"", None) == ""


# --------------------------------------------------------------------------- transport errors


def test_connection_refused() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with make_fetcher() as f:
        r = f.fetch(f"http://127.0.0.1:{port}/")
    assert (r.status, r.reason) == (FetchStatus.TEMP, "connect-error")


def test_tls_error(server: ServerFactory) -> None:
    """https:// to a plain-HTTP server: the handshake fails."""
    srv = server(lambda _p, _h: Response(200, b"plain"))
    with make_fetcher() as f:
        r = f.fetch(f"https://127.0.0.1:{srv.port}/")
    assert (r.status, r.reason) == (FetchStatus.SOFT, "tls-error")


def test_garbage_instead_of_http() -> None:
    with serve_raw(reply(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")) as srv, make_fetcher() as f:
        r = f.fetch(srv.base_url + "/")
    assert (r.status, r.reason) == (FetchStatus.TEMP, "protocol-error")


def test_body_shorter_than_announced() -> None:
    raw = http_response(200, b"short", {"Content-Length": "1000"})
    with serve_raw(reply(raw)) as srv, make_fetcher() as f:
        r = f.fetch(srv.base_url + "/")
    assert r.status is FetchStatus.TEMP and r.reason == "protocol-error"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/feed",
        "not a url",
        "http://",
        "http://exa mple.com/",
        "file:///etc/passwd",
        "http://example.com:99999/",
        "",
    ],
)
def test_bad_urls(url: str) -> None:
    with make_fetcher() as f:
        r = f.fetch(url)
    assert (r.status, r.reason) == (FetchStatus.HARD, "bad-url")


def _raising(exc: Exception) -> httpx.MockTransport:
    def handler(_request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


def _tls_failure() -> httpx.ConnectError:
    try:
        raise ssl.SSLCertVerificationError("certificate verify failed")
    except ssl.SSLError as cause:
        try:
            raise httpx.ConnectError("handshake") from cause
        except httpx.ConnectError as e:
            return e


@pytest.mark.parametrize(
    ("exc", "status", "reason"),
    [
        (httpx.ConnectTimeout("slow"), FetchStatus.TEMP, "timeout"),
        (httpx.ConnectError("refused"), FetchStatus.TEMP, "connect-error"),
        (httpx.ReadError("reset"), FetchStatus.TEMP, "connect-error"),
        (httpx.RemoteProtocolError("bad"), FetchStatus.TEMP, "protocol-error"),
        (_tls_failure(), FetchStatus.SOFT, "tls-error"),
        (RuntimeError("a bug"), FetchStatus.SOFT, "internal-error"),
    ],
)
def test_transport_exceptions_become_results(
    exc: Exception, status: FetchStatus, reason: str
) -> None:
    with Fetcher(FetchSettings(), transport=_raising(exc)) as f:
        r = f.fetch("https://feed.example/rss")
    assert (r.status, r.reason) == (status, reason)


def test_mock_transport_is_injectable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["user-agent"] == FetchSettings().user_agent
        return httpx.Response(200, content=b"<rss/>", headers={"ETag": "e"})

    with Fetcher(FetchSettings(), transport=httpx.MockTransport(handler)) as f:
        r = f.fetch("https://feed.example/rss")
    assert (r.status, r.body, r.etag) == (FetchStatus.OK, b"<rss/>", "e")


# --------------------------------------------------------------------------- fetch_many


def test_fetch_many_limits_per_host(server: ServerFactory) -> None:
    lock = threading.Lock()
    active: dict[str, int] = {}
    peak: dict[str, int] = {}
    overall = {"now": 0, "max": 0}

    def router(path: str, headers: dict[str, str]) -> Response:
        host = headers.get("host", "").split(":")[0]
        with lock:
            active[host] = active.get(host, 0) + 1
            peak[host] = max(peak.get(host, 0), active[host])
            overall["now"] += 1
            overall["max"] = max(overall["max"], overall["now"])
        time.sleep(0.2)
        with lock:
            active[host] -= 1
            overall["now"] -= 1
        return Response(200, path.encode(), {"Content-Type": "text/html"})

    srv = server(router)
    with make_fetcher(concurrency=8, per_host_concurrency=2) as f:
        urls = [f"http://127.0.0.1:{srv.port}/a{i}" for i in range(6)]
        urls += [f"http://localhost:{srv.port}/b{i}" for i in range(6)]
        urls += [urls[0], "ftp://nope"]  # a duplicate and a bad one
        results = f.fetch_many(urls)
    assert list(results) == list(dict.fromkeys(urls))
    assert results["ftp://nope"].reason == "bad-url"
    for u, r in results.items():
        if u.startswith("http"):
            assert (r.status, r.body) == (FetchStatus.OK, b"/" + u.rsplit("/", 1)[1].encode())
    assert len(srv.hits) == 12  # the duplicate fetched once
    assert peak == {"127.0.0.1": 2, "localhost": 2}
    assert overall["max"] > 2  # hosts proceed in parallel


def test_fetch_many_sends_html_accept(server: ServerFactory) -> None:
    seen: list[str] = []

    def router(_path: str, headers: dict[str, str]) -> Response:
        seen.append(headers["accept"])
        return Response(200, b"<p>x</p>")

    srv = server(router)
    with make_fetcher() as f:
        f.fetch_many([srv.base_url + "/p"])
    assert seen == [HTML_ACCEPT]


def test_fetch_many_empty() -> None:
    with make_fetcher() as f:
        assert f.fetch_many([]) == {}
