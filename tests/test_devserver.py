"""`signals.devserver`: what a router returns is what a client gets, on 127.0.0.1 only."""

from __future__ import annotations

import http.client

from signals.devserver import Response, serve


def _get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def test_the_router_answers_and_every_path_is_recorded() -> None:
    seen: list[tuple[str, dict[str, str]]] = []

    def router(path: str, headers: dict[str, str]) -> Response:
        seen.append((path, headers))
        if path.startswith("/feed"):
            return Response(200, b"<rss/>", {"Content-Type": "application/rss+xml", "ETag": '"e1"'})
        return Response(404, b"no route")

    with serve(router) as srv:
        assert srv.host == "127.0.0.1" and srv.base_url == f"http://127.0.0.1:{srv.port}"
        status, hdrs, body = _get(srv.port, "/feed.xml?x=1", {"If-None-Match": '"e0"'})
        assert (status, body) == (200, b"<rss/>")
        assert hdrs["content-type"] == "application/rss+xml" and hdrs["etag"] == '"e1"'
        assert hdrs["content-length"] == "6"  # added when the router gives none
        assert _get(srv.port, "/nothing")[::2] == (404, b"no route")
        assert srv.hits == ["/feed.xml?x=1", "/nothing"]
    assert (
        seen[0][0] == "/feed.xml?x=1" and seen[0][1]["if-none-match"] == '"e0"'
    )  # lower-cased names


def test_a_304_has_no_body_and_a_router_error_is_a_500() -> None:
    def router(path: str, _headers: dict[str, str]) -> Response:
        if path == "/same":
            return Response(304, b"ignored", {"Content-Length": "0"})
        raise RuntimeError("typo in the router")

    with serve(router) as srv:
        assert _get(srv.port, "/same")[::2] == (304, b"")
        status, _, body = _get(srv.port, "/boom")
        assert (status, body) == (500, b"router error: typo in the router")


def test_the_server_stops_when_the_block_ends() -> None:
    with serve(lambda _p, _h: Response(200, b"ok")) as srv:
        port = srv.port
        assert _get(port, "/")[0] == 200
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        refused = False
    except OSError:
        refused = True
    finally:
        conn.close()
    assert refused
