"""Local servers for the fetch tests: ``signals.devserver.serve`` for ordinary HTTP, and a raw
socket server (``serve_raw``) for what a well-behaved server cannot do: drip a body, lie about
gzip, bind to another loopback address, speak garbage."""

from __future__ import annotations

import os
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # until pytest's pythonpath/an editable install provides it
    sys.path.insert(0, str(ROOT))

from signals.config import FetchSettings  # noqa: E402
from signals.devserver import Response, Router, RunningServer, serve  # noqa: E402
from signals.fetch.http import Fetcher  # noqa: E402

LOOPBACK = ["127.0.0.0/8", "::1/128"]

# A raw handler gets the connected socket, the request head (bytes) and a stop event that is
# set when the server shuts down (long-running handlers must watch it).
RawHandler = Callable[[socket.socket, bytes, threading.Event], None]
ServerFactory = Callable[[Router], RunningServer]


@dataclass
class RawServer:
    host: str
    port: int
    hits: list[str] = field(default_factory=list)  # request lines

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@contextmanager
def serve_raw(handler: RawHandler, host: str = "127.0.0.1") -> Iterator[RawServer]:
    """Serve each connection's first request with ``handler`` on ``host`` (any loopback
    address), then close the connection."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(32)
    listener.settimeout(0.1)
    server = RawServer(host, listener.getsockname()[1])
    stop = threading.Event()
    workers: list[threading.Thread] = []

    def serve_conn(conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                server.hits.append(data.split(b"\r\n", 1)[0].decode("latin-1"))
                handler(conn, data, stop)
        except OSError:  # the client went away: expected in these tests
            pass

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=serve_conn, args=(conn,), daemon=True)
            t.start()
            workers.append(t)

    acceptor = threading.Thread(target=accept_loop, name="raw-server", daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        stop.set()
        acceptor.join(timeout=5)
        listener.close()
        for t in workers:
            t.join(timeout=5)


def http_response(
    status: int = 200,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    reason: str = "X",
) -> bytes:
    hdrs = {"Connection": "close", "Content-Length": str(len(body)), **(headers or {})}
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    return head.encode("latin-1") + b"\r\n" + body


def reply(data: bytes) -> RawHandler:
    def handler(conn: socket.socket, _request: bytes, _stop: threading.Event) -> None:
        conn.sendall(data)

    return handler


class _Switchboard:
    """One devserver for the whole session whose router each test replaces (starting and
    stopping a devserver costs half a second)."""

    def __init__(self) -> None:
        self.router: Router = _not_found
        self.srv: RunningServer | None = None

    def dispatch(self, path: str, headers: dict[str, str]) -> Response:
        return self.router(path, headers)


def _not_found(_path: str, _headers: dict[str, str]) -> Response:
    return Response(404, b"no route")


@pytest.fixture(scope="session", autouse=True)
def _quiet_disconnects() -> Iterator[None]:
    """The devserver prints a traceback whenever a client hangs up early, which the Fetcher
    does on purpose (too-large, deadline, challenge sniffing). Keep other errors visible."""
    original = socketserver.BaseServer.handle_error

    def handle_error(self: socketserver.BaseServer, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        original(self, request, client_address)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socketserver.BaseServer, "handle_error", handle_error)
        yield


@pytest.fixture(scope="session")
def _switchboard() -> Iterator[_Switchboard]:
    board = _Switchboard()
    with serve(board.dispatch) as srv:
        board.srv = srv
        yield board


@pytest.fixture
def server(_switchboard: _Switchboard) -> Iterator[ServerFactory]:
    """``server(router)`` -> a running devserver on 127.0.0.1 answering with ``router``
    (hits cleared)."""

    def route(router: Router) -> RunningServer:
        assert _switchboard.srv is not None
        _switchboard.router = router
        _switchboard.srv.hits.clear()
        return _switchboard.srv

    yield route
    _switchboard.router = _not_found


@pytest.fixture(scope="session")
def _canary_server() -> Iterator[RunningServer]:
    with serve(lambda _path, _headers: Response(200, b"canary reached")) as srv:
        yield srv


@pytest.fixture
def canary(_canary_server: RunningServer) -> RunningServer:
    """A loopback server that must never be reached: assert ``canary.hits == []``."""
    _canary_server.hits.clear()
    return _canary_server


@pytest.fixture
def loopback_settings() -> FetchSettings:
    return FetchSettings(allow_networks=LOOPBACK, timeout_seconds=10, connect_timeout_seconds=5)


@pytest.fixture
def fetcher(loopback_settings: FetchSettings) -> Iterator[Fetcher]:
    """A Fetcher that may reach loopback (the test servers)."""
    with Fetcher(loopback_settings) as f:
        yield f


@pytest.fixture
def strict_fetcher() -> Iterator[Fetcher]:
    """A Fetcher with the default settings: loopback, private… all refused."""
    with Fetcher(FetchSettings(timeout_seconds=10, connect_timeout_seconds=5)) as f:
        yield f


def shared_data() -> Path:
    env = os.environ.get("SIGNALS_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"
