"""SSRF guard: refuse private, loopback, link-local… destinations, checked at connect time.

How it works
------------
A feed is untrusted input that chooses the URLs we fetch (its own URL, its redirects, the
article links in it). Checking a URL's host *before* the request is not enough: the name can
resolve to a public address during the check and to ``127.0.0.1`` a moment later when the HTTP
library resolves it again to connect (DNS rebinding), and every redirect hop is a new
destination.

So the check lives in the network layer, where the connection is made:

* ``GuardedTransport`` is an ordinary ``httpx.HTTPTransport`` whose httpcore connection pool is
  built with our own network backend, ``GuardedBackend``. httpcore asks that backend for every
  new TCP connection, for every hop (``Fetcher`` follows redirects itself, one request per hop),
  so there is no path around it short of injecting another transport.
* ``GuardedBackend.connect_tcp(host, port)`` resolves ``host`` **once** with
  ``socket.getaddrinfo`` (in a helper thread, so a stuck resolver cannot outlive the fetch's
  deadline), checks **every** resolved address with ``ipaddress`` and refuses the connection if
  any is blocked, then connects to one of the *checked IP addresses* (not the name). Nothing
  resolves the name a second time, so rebinding between check and connect is impossible.
* The name is only replaced at the socket level: httpx still sends ``Host: <name>`` and
  httpcore still passes ``server_hostname=<name>`` when it starts TLS, so SNI and certificate
  verification are for the real host name.
* Numeric tricks (``0x7f.1``, ``2130706433``, ``127.1``, ``[::ffff:127.0.0.1]``) are handled
  because the C resolver turns them into the real address, which is what gets checked.
  ``check_literal`` applies the same rules to numeric hosts before a request (so they get a
  clear ``blocked-address`` result even when httpx itself would reject the URL), but the
  connect-time check is the one that matters.
* IPv4-mapped (``::ffff:a.b.c.d``), NAT64 (``64:ff9b::/96``) and 6to4 (``2002::/16``) IPv6
  addresses are judged by the IPv4 address they embed.
* Environment proxies are never used (``trust_env=False``): through a proxy the connect-time
  address would be the proxy's.

``allow_networks`` (CIDRs from ``FetchSettings``) admits exceptions, e.g. ``127.0.0.0/8`` for
tests and the offline demo. A refused destination raises ``signals.errors.BlockedAddressError``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpcore
import httpx

from ..config import FetchSettings
from ..errors import BlockedAddressError
from .deadline import clamp_timeout

__all__ = [
    "AddressGuard",
    "GuardedBackend",
    "GuardedTransport",
    "IPAddress",
    "Resolver",
    "blocked_reason",
    "parse_numeric_host",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port, timeout) -> IP address strings. Raises OSError (e.g. socket.gaierror) on failure.
Resolver = Callable[[str, int, float | None], list[str]]

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
_BLOCKED_NETWORKS: tuple[tuple[str, ipaddress.IPv4Network | ipaddress.IPv6Network], ...] = (
    ("unspecified", _V4("0.0.0.0/8")),
    ("private", _V4("10.0.0.0/8")),
    ("cgnat", _V4("100.64.0.0/10")),
    ("loopback", _V4("127.0.0.0/8")),
    ("link-local", _V4("169.254.0.0/16")),
    ("private", _V4("172.16.0.0/12")),
    ("reserved", _V4("192.0.0.0/24")),
    ("reserved", _V4("192.0.2.0/24")),
    ("reserved", _V4("192.88.99.0/24")),
    ("private", _V4("192.168.0.0/16")),
    ("reserved", _V4("198.18.0.0/15")),
    ("reserved", _V4("198.51.100.0/24")),
    ("reserved", _V4("203.0.113.0/24")),
    ("multicast", _V4("224.0.0.0/4")),
    ("reserved", _V4("240.0.0.0/4")),
    ("unspecified", _V6("::/128")),
    ("loopback", _V6("::1/128")),
    ("reserved", _V6("64:ff9b:1::/48")),
    ("reserved", _V6("100::/64")),
    ("reserved", _V6("2001::/23")),
    ("reserved", _V6("2001:db8::/32")),
    ("private", _V6("fc00::/7")),
    ("link-local", _V6("fe80::/10")),
    ("private", _V6("fec0::/10")),
    ("multicast", _V6("ff00::/8")),
)
_NAT64 = _V6("64:ff9b::/96")
_NUMERIC_V4 = re.compile(r"^[0-9a-fA-FxX.]+$")


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is refused by default ("loopback", "private"…), or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        v4 = _embedded_v4(ip)
        if v4 is not None:
            inner = blocked_reason(v4)
            if inner is not None or ip.ipv4_mapped is not None:
                return inner
    for reason, net in _BLOCKED_NETWORKS:
        if ip.version == net.version and ip in net:
            return reason
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    return None


def parse_numeric_host(host: str) -> IPAddress | None:
    """The address a numeric host means, the way the C resolver reads it (``0x7f.1``,
    ``2130706433``, ``127.1``, ``[::1]``); None for a host name."""
    h = host.strip().strip("[]").split("%", 1)[0]
    if not h:
        return None
    try:
        return ipaddress.ip_address(h)
    except ValueError:
        pass
    if _NUMERIC_V4.match(h) and any(c.isdigit() for c in h):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(h))
        except OSError:
            return None
    return None


def system_resolver(host: str, port: int, timeout: float | None) -> list[str]:
    """``getaddrinfo`` in a daemon thread, so that a slow resolver cannot hold the caller past
    ``timeout`` (the thread is abandoned; it ends when the resolver gives up)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except BaseException as e:  # handed to the caller
            box["error"] = e

    t = threading.Thread(target=run, name="signals-dns", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise TimeoutError(f"DNS resolution of {host!r} timed out")
    if "error" in box:
        raise box["error"]
    out: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in box["infos"]:
        addr = str(sockaddr[0])
        if addr not in out:
            out.append(addr)
    return out


class AddressGuard:
    """The address policy: blocked by default, unless inside one of ``allow_networks``."""

    def __init__(self, allow_networks: Iterable[str] = ()) -> None:
        self.allow = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)

    def _allowed(self, ip: IPAddress) -> bool:
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            v4 = _embedded_v4(ip)
            if v4 is not None:
                candidates.append(v4)
        return any(c.version == n.version and c in n for c in candidates for n in self.allow)

    def check_ip(self, ip: IPAddress, host: str | None = None) -> None:
        reason = blocked_reason(ip)
        if reason is not None and not self._allowed(ip):
            shown = f"{host!r} resolves to {ip}" if host and host != str(ip) else str(ip)
            raise BlockedAddressError(f"refused destination: {shown} is a {reason} address")

    def check_literal(self, host: str) -> None:
        """Refuse a numeric host now (no DNS); host names are checked at connect time."""
        ip = parse_numeric_host(host)
        if ip is not None:
            self.check_ip(ip, host)

    def checked_addresses(self, host: str, addresses: Sequence[str]) -> list[str]:
        """All of ``addresses`` if every one is acceptable; raises otherwise."""
        if not addresses:
            raise OSError(f"no address for {host!r}")
        for a in addresses:
            self.check_ip(ipaddress.ip_address(a.split("%", 1)[0]), host)
        return list(addresses)


def _timeout_or_raise(timeout: float | None, exc: type[Exception]) -> float | None:
    t = clamp_timeout(timeout)
    if t is not None and t <= 0:
        raise exc("fetch deadline reached")
    return t


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation stops at the current fetch deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _timeout_or_raise(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _timeout_or_raise(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        t = _timeout_or_raise(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, t))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore network backend: resolve once, check every address, connect to a checked IP."""

    def __init__(
        self,
        guard: AddressGuard,
        resolver: Resolver = system_resolver,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self.guard = guard
        self.resolver = resolver
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        literal = parse_numeric_host(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            t = _timeout_or_raise(timeout, httpcore.ConnectTimeout)
            try:
                addresses = self.resolver(host, port, t)
            except TimeoutError as e:
                raise httpcore.ConnectTimeout(str(e)) from e
            except OSError as e:
                raise httpcore.ConnectError(f"cannot resolve {host!r}: {e}") from e
        addresses = self.guard.checked_addresses(host, addresses)
        last: Exception | None = None
        for address in addresses:
            t = _timeout_or_raise(timeout, httpcore.ConnectTimeout)
            try:
                stream = self.inner.connect_tcp(
                    address,
                    port,
                    timeout=t,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                last = e
                continue
            return _DeadlineStream(stream)
        assert last is not None
        raise last

    def connect_unix_socket(  # the arguments are httpcore.NetworkBackend's signature
        self,
        path: str,  # noqa: ARG002
        timeout: float | None = None,  # noqa: ARG002
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,  # noqa: ARG002
    ) -> httpcore.NetworkStream:
        raise BlockedAddressError("unix sockets are not a fetch destination")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connections all go through ``GuardedBackend``."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
        max_connections: int | None = None,
    ) -> None:
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        limit = max_connections or max(settings.concurrency * 2, 10)
        super().__init__(verify=ssl_context, trust_env=False, retries=0)
        self.guard = AddressGuard(settings.allow_networks)
        # Replace the pool httpx built with one that uses our backend (same ssl context and
        # settings httpx would use; no proxy, retries=0: a retry would be a second connect).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limit,
            max_keepalive_connections=settings.concurrency,
            keepalive_expiry=30.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=GuardedBackend(self.guard, resolver),
        )
