"""SSRF: with the default settings nothing private is ever connected to, however it is spelt,
wherever it comes from (the URL, a redirect, DNS); ``allow_networks`` admits exceptions."""

from __future__ import annotations

import ipaddress
import socket
import threading

import httpx
import pytest

from signals.config import FetchSettings
from signals.devserver import Response, RunningServer
from signals.errors import BlockedAddressError
from signals.fetch.guard import (
    AddressGuard,
    GuardedTransport,
    blocked_reason,
    parse_numeric_host,
)
from signals.fetch.http import Fetcher
from signals.models import FetchStatus

from .conftest import ServerFactory, http_response, serve_raw


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0",
        "224.0.0.1", "240.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.0.8",
        "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "fec0::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
        "64:ff9b::7f00:1", "2002:7f00:1::1", "2001:db8::1",
    ],
)  # fmt: skip
def test_blocked_addresses(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is not None
    with pytest.raises(BlockedAddressError):
        AddressGuard().check_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "1.1.1.1", "100.128.0.1", "172.32.0.1", "2606:4700::1111",
     "2a00:1450:4007:80b::200e", "::ffff:8.8.8.8"],
)  # fmt: skip
def test_public_addresses(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None
    AddressGuard().check_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[fe80::1%eth0]", "fe80::1"),  # zone dropped: judged as the address
        ("example.com", None),
        ("deadbeef", None),
        ("cafe.fr", None),
    ],
)
def test_numeric_hosts_read_like_the_resolver(host: str, expected: str | None) -> None:
    ip = parse_numeric_host(host)
    assert (str(ip) if ip else None) == expected
    if expected is not None and expected.count(".") == 3:  # same reading as the C resolver
        assert socket.getaddrinfo(host, 80)[0][4][0] == expected


def test_allow_networks() -> None:
    guard = AddressGuard(["127.0.0.0/8", "10.1.0.0/16"])
    guard.check_ip(ipaddress.ip_address("127.0.0.5"))
    guard.check_ip(ipaddress.ip_address("::ffff:127.0.0.1"))  # mapped form of an allowed one
    guard.check_ip(ipaddress.ip_address("10.1.2.3"))
    for refused in ("10.2.0.1", "::1", "169.254.169.254"):
        with pytest.raises(BlockedAddressError):
            guard.check_ip(ipaddress.ip_address(refused))


def test_every_resolved_address_is_checked() -> None:
    guard = AddressGuard()
    with pytest.raises(BlockedAddressError):
        guard.checked_addresses("mixed.example", ["93.184.216.34", "10.0.0.7"])
    assert guard.checked_addresses("ok.example", ["93.184.216.34"]) == ["93.184.216.34"]


# --------------------------------------------------------------------------- at connect time


def test_transport_refuses_at_connect_time(canary: RunningServer) -> None:
    """The transport alone (no Fetcher pre-check) refuses loopback, by number and by name."""
    with httpx.Client(transport=GuardedTransport(FetchSettings())) as client:
        for url in (
            canary.base_url,
            f"http://localhost:{canary.port}/",
            f"http://0x7f.1:{canary.port}/",
        ):
            with pytest.raises(BlockedAddressError):
                client.get(url)
    assert canary.hits == []


def test_resolved_once_and_connected_to_the_checked_address(server: ServerFactory) -> None:
    """No second resolution between check and connect (DNS rebinding), and the connection goes
    to the checked IP while Host (and SNI) keep the name."""
    seen_hosts: list[str] = []
    calls: list[str] = []
    lock = threading.Lock()

    def router(_path: str, headers: dict[str, str]) -> Response:
        seen_hosts.append(headers.get("host", ""))
        return Response(200, b"hello")

    def rebinding_resolver(host: str, _port: int, _timeout: float | None) -> list[str]:
        with lock:
            calls.append(host)
            # first answer loopback (allowed here), any later answer a metadata address
            return ["127.0.0.1"] if len(calls) == 1 else ["169.254.169.254"]

    settings = FetchSettings(allow_networks=["127.0.0.0/8"])
    srv = server(router)
    transport = GuardedTransport(settings, resolver=rebinding_resolver)
    with Fetcher(settings, transport=transport) as f:
        r = f.fetch(f"http://feed.example:{srv.port}/x")
    assert r.status is FetchStatus.OK and r.body == b"hello"
    assert calls == ["feed.example"]
    assert seen_hosts == [f"feed.example:{srv.port}"]


def test_name_resolving_to_private_is_refused_without_connecting(canary: RunningServer) -> None:
    calls: list[str] = []

    def resolver(host: str, _port: int, _timeout: float | None) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    settings = FetchSettings()
    with Fetcher(settings, transport=GuardedTransport(settings, resolver=resolver)) as f:
        r = f.fetch(f"http://innocent.example:{canary.port}/")
    assert (r.status, r.reason) == (FetchStatus.HARD, "blocked-address")
    assert calls == ["innocent.example"]
    assert canary.hits == []


# --------------------------------------------------------------------------- through the Fetcher


def _targets(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/",
        f"http://0x7f.1:{port}/",
        f"http://2130706433:{port}/",
        f"http://127.1:{port}/",
        f"http://[::ffff:127.0.0.1]:{port}/",
        f"http://[::1]:{port}/",
        f"http://localhost:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.0.1/",
        "http://[fe80::1]/",
        "http://100.64.0.1/",
    ]


def test_default_fetcher_refuses_private_destinations(
    strict_fetcher: Fetcher, canary: RunningServer
) -> None:
    for url in _targets(canary.port):
        r = strict_fetcher.fetch(url)
        assert (r.status, r.reason) == (FetchStatus.HARD, "blocked-address"), url
    pages = strict_fetcher.fetch_many(_targets(canary.port))
    assert {r.reason for r in pages.values()} == {"blocked-address"}
    assert canary.hits == []


def test_redirects_to_private_destinations_are_refused(canary: RunningServer) -> None:
    """A 'public' server (127.0.0.2, admitted for the test) redirects to the canary on
    127.0.0.1 in every spelling, and to metadata/private addresses: all refused."""
    targets = _targets(canary.port)

    def handler(conn: socket.socket, request: bytes, _stop: threading.Event) -> None:
        index = int(request.split(b" ", 2)[1].strip(b"/") or 0)
        conn.sendall(http_response(302, headers={"Location": targets[index]}))

    settings = FetchSettings(allow_networks=["127.0.0.2/32"], timeout_seconds=10)
    with serve_raw(handler, host="127.0.0.2") as public, Fetcher(settings) as f:
        for i, target in enumerate(targets):
            r = f.fetch(f"{public.base_url}/{i}")
            assert (r.status, r.reason) == (FetchStatus.HARD, "blocked-address"), target
            assert r.http_status == 302 and r.final_url is not None
    assert len(public.hits) == len(targets)
    assert canary.hits == []


def test_redirect_to_other_schemes_is_refused() -> None:
    locations = [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://127.0.0.1:70/",
        "javascript:alert(1)",
    ]

    def handler(conn: socket.socket, request: bytes, _stop: threading.Event) -> None:
        index = int(request.split(b" ", 2)[1].strip(b"/"))
        conn.sendall(http_response(301, headers={"Location": locations[index]}))

    with serve_raw(handler) as srv, Fetcher(FetchSettings(allow_networks=["127.0.0.1/32"])) as f:
        for i in range(len(locations)):
            r = f.fetch(f"{srv.base_url}/{i}")
            assert (r.status, r.reason) == (FetchStatus.HARD, "bad-url")


def test_allow_networks_reaches_loopback(fetcher: Fetcher, server: ServerFactory) -> None:
    srv = server(lambda _path, _headers: Response(200, b"<rss/>"))
    for url in (srv.base_url + "/", f"http://localhost:{srv.port}/", f"http://0x7f.1:{srv.port}/"):
        r = fetcher.fetch(url)
        assert (r.status, r.reason, r.body) == (FetchStatus.OK, "ok", b"<rss/>"), url
    assert len(srv.hits) == 3
