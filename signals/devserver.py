"""A tiny HTTP server on 127.0.0.1 for the offline demo, replays and tests.

It serves whatever a ``Router`` returns for a path, so the real fetch path (httpx, headers,
conditional GET, redirects) is exercised without the internet. Bound to loopback only.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


# A router gets (path including query, request headers) and returns a Response.
Router = Callable[[str, dict[str, str]], Response]


class _Handler(BaseHTTPRequestHandler):
    router: Router  # set on a per-server subclass
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            resp = self.router(self.path, headers)
        except Exception as e:  # a router bug must be visible, not hang the client
            resp = Response(500, f"router error: {e}".encode())
        self.send_response(resp.status)
        hdrs = {k.lower(): v for k, v in resp.headers.items()}
        for k, v in resp.headers.items():
            self.send_header(k, v)
        if "content-length" not in hdrs:
            self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if resp.status != 304:
            self.wfile.write(resp.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: ARG002 (http.server's signature); silence
        return


@dataclass
class RunningServer:
    host: str
    port: int
    hits: list[str]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def serve(router: Router) -> Iterator[RunningServer]:
    """Run ``router`` on 127.0.0.1 on a free port in a background thread."""
    hits: list[str] = []

    def recording(path: str, headers: dict[str, str]) -> Response:
        hits.append(path)
        return router(path, headers)

    handler = type("Handler", (_Handler,), {"router": staticmethod(recording)})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="signals-devserver", daemon=True)
    thread.start()
    try:
        yield RunningServer("127.0.0.1", httpd.server_address[1], hits)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
