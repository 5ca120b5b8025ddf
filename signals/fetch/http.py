"""The HTTP client of the fetch stage: one ``Fetcher`` per run, shared by all threads.

``Fetcher.fetch`` never raises for a network or HTTP problem; it returns a ``FetchResult``
whose ``status`` (``FetchStatus``) drives backoff and whose ``reason`` is one of ``REASONS``.

What it does for every request:

* follows redirects itself (at most ``max_redirects``, loop detection, only http/https), so
  that the SSRF guard (``guard.py``) sees every hop — the guard itself runs at connect time in
  the transport;
* enforces a *total* deadline (``timeout_seconds``) over DNS, connect, TLS, every read and
  write and every hop: httpx timeouts are per operation, so a server dripping one byte a
  second would otherwise never time out (``deadline.py``);
* streams the body and decompresses it itself (gzip/deflate, with ``max_length``), so the cap
  ``max_bytes`` applies to the *decompressed* size and a gzip bomb never gets past it;
* conditional GET (``If-None-Match`` / ``If-Modified-Since``); the validators of the response
  are returned, the caller stores them only after committing the items;
* classifies anti-bot challenge pages (Cloudflare & co.) instead of parsing them as content.
"""

from __future__ import annotations

import logging
import ssl
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ..config import FetchSettings
from ..errors import BlockedAddressError
from ..models import FetchResult, FetchStatus
from .deadline import Deadline, deadline_scope
from .guard import AddressGuard, GuardedTransport
from .urls import normalize_host

__all__ = [
    "FEED_ACCEPT",
    "HTML_ACCEPT",
    "REASONS",
    "Fetcher",
    "is_challenge",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
ACCEPT_ENCODING = "gzip, deflate"  # only what we can decompress with a bounded output

# The fixed vocabulary of FetchResult.reason, plus "http-NNN" for an individual 1xx/3xx/4xx
# status code ("http-404", "http-403"…); all 5xx are "http-5xx".
REASONS = frozenset(
    {
        "ok",
        "not-modified",
        "http-404",
        "http-410",
        "http-429",
        "http-5xx",
        "timeout",
        "deadline",
        "too-large",
        "redirect-loop",
        "too-many-redirects",
        "blocked-address",
        "connect-error",
        "tls-error",
        "protocol-error",
        "bad-url",
        "challenge-page",
        "decode-error",
        "internal-error",
    }
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SNIFF_BYTES = 65_536  # how much of an error page is read to recognise a challenge
# Markers of anti-bot interstitials. The strong ones never occur in an ordinary article.
_STRONG_MARKERS = (
    b"cf-chl",
    b"/cdn-cgi/challenge-platform",
    b"<title>just a moment...</title>",
    b"checking your browser before accessing",
    b"_incapsula_resource",
    b"ddos-guard",
)
_WEAK_MARKERS = (b"just a moment...", b"captcha", b"attention required! | cloudflare")


class _Failure(Exception):
    def __init__(self, status: FetchStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class _TooLarge(Exception):
    pass


class _DecodeError(Exception):
    pass


# --------------------------------------------------------------------------- body decoding


class _BoundedDecoder:
    """Content-Encoding decoder whose output is limited by the caller at every step."""

    def __init__(self, content_encoding: str) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise _DecodeError(f"unsupported content-encoding {content_encoding!r}")
        coding = codings[0] if codings else "identity"
        if coding == "x-gzip":
            coding = "gzip"
        if coding not in ("identity", "gzip", "deflate"):
            raise _DecodeError(f"unsupported content-encoding {content_encoding!r}")
        self.coding = coding
        self._obj: zlib._Decompress | None = None
        self._started = False
        self._ignoring_trailer = False

    def _new(self, first: bytes) -> zlib._Decompress:
        if self.coding == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is meant to be zlib-wrapped, but many servers send raw deflate.
        zlib_header = (
            len(first) >= 2 and first[0] & 0x0F == 8 and (first[0] << 8 | first[1]) % 31 == 0
        )
        return zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)

    def decode(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of ``data``; raises _TooLarge if they would exceed ``room``."""
        if self.coding == "identity":
            if len(data) > room:
                raise _TooLarge
            return data
        out = bytearray()
        while data and not self._ignoring_trailer:
            if self._obj is None:
                self._obj = self._new(data)
                self._started = True
            try:
                out += self._obj.decompress(data, room - len(out) + 1)
            except zlib.error as e:
                raise _DecodeError(str(e)) from None
            if len(out) > room:
                raise _TooLarge
            if self._obj.eof:
                rest = self._obj.unused_data
                if self.coding == "gzip" and rest[:2] in (b"\x1f\x8b", b"\x1f"):
                    self._obj = None  # another gzip member follows
                    data = rest
                else:
                    self._ignoring_trailer = bool(rest)  # trailing junk, as browsers do
                    data = b""
            else:
                data = self._obj.unconsumed_tail
        return bytes(out)

    def finish(self, room: int) -> bytes:
        if self.coding == "identity" or self._obj is None or self._ignoring_trailer:
            return b""
        try:
            out = self._obj.decompress(b"", room + 1)
        except zlib.error as e:
            raise _DecodeError(str(e)) from None
        if len(out) > room:
            raise _TooLarge
        if not self._obj.eof:
            raise _DecodeError("truncated compressed body")
        return out


# --------------------------------------------------------------------------- helpers


def parse_retry_after(
    value: str | None, now: datetime | None = None, server_date: str | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date).

    An HTTP-date is measured against the response's own ``Date`` header when there is one
    (immune to clock skew between us and the server), else against ``now``.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    ref = None
    if server_date:
        try:
            ref = parsedate_to_datetime(server_date)
        except (TypeError, ValueError, IndexError):
            ref = None
        if ref is not None and ref.tzinfo is None:
            ref = ref.replace(tzinfo=UTC)
    if ref is None:
        ref = now or datetime.now(UTC)
    return max(0.0, (when - ref).total_seconds())


def _wants_feed(accept: str) -> bool:
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return first not in ("text/html", "application/xhtml+xml")


def is_challenge(status_code: int, headers: dict[str, str], head: bytes, wants_feed: bool) -> bool:
    """Is this response an anti-bot interstitial rather than the resource?

    ``headers`` have lower-case names; ``head`` is the start of the decoded body.
    """
    if headers.get("cf-mitigated", "").strip().lower() == "challenge":
        return True
    if "html" not in headers.get("content-type", "").lower():
        return False
    text = head[:_SNIFF_BYTES].lower()
    strong = any(m in text for m in _STRONG_MARKERS)
    weak = any(m in text for m in _WEAK_MARKERS)
    if status_code in (403, 503):
        if strong or weak:
            return True
        # An HTML error page where a feed was asked: a bot wall, unless it is an honest
        # "come back later" (503 with Retry-After), which stays a temporary failure.
        return wants_feed and (status_code == 403 or "retry-after" not in headers)
    if 200 <= status_code < 300:
        return strong or (wants_feed and weak)
    return False


def _encoded(headers: dict[str, str]) -> bool:
    codings = {c.strip().lower() for c in headers.get("content-encoding", "").split(",")}
    return bool(codings - {"", "identity"})


def _header_dict(headers: httpx.Headers) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers.multi_items():
        k = k.lower()
        out[k] = f"{out[k]}, {v}" if k in out else v
    return out


def _clean_validator(value: str | None) -> str | None:
    if not value:
        return None
    value = value.replace("\r", "").replace("\n", "").strip()
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return value or None


def _is_tls_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, ssl.SSLError | ssl.CertificateError):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _host_key(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


@dataclass
class _State:
    """What is known about a fetch so far (for the result of a failure)."""

    url: str
    http_status: int | None = None
    final_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after: float | None = None


# --------------------------------------------------------------------------- the fetcher


class Fetcher:
    """HTTP client for feeds and pages. Thread-safe (httpcore's pool is, the per-fetch state
    lives on the stack and the deadline in a ContextVar); use one per run and ``close()`` it.

    ``transport`` defaults to a ``GuardedTransport`` built from ``settings`` (the SSRF guard
    at connect time). Injecting another transport (e.g. ``httpx.MockTransport`` in unit
    tests) replaces that guard; numeric hosts are still refused by ``check_literal``.
    """

    def __init__(
        self,
        settings: FetchSettings,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._guard = AddressGuard(settings.allow_networks)
        self._transport = transport if transport is not None else GuardedTransport(settings)
        self._closed = False

    # -- lifecycle

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._transport.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- public API

    def fetch(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """GET ``url`` (conditionally if validators are given). Never raises for a network or
        HTTP problem: the outcome is in the result's ``status`` and ``reason``."""
        start = self._clock()
        deadline = Deadline(start + self.settings.timeout_seconds, self._clock)
        state = _State(url=url)

        def failed(status: FetchStatus, reason: str) -> FetchResult:
            return FetchResult(
                url=url,
                status=status,
                reason=reason,
                http_status=state.http_status,
                final_url=state.final_url,
                content_type=state.headers.get("content-type"),
                headers=state.headers,
                retry_after=state.retry_after,
                elapsed=self._clock() - start,
            )

        try:
            with deadline_scope(deadline):
                return self._fetch(url, etag, last_modified, accept, deadline, state, start)
        except _Failure as f:
            return failed(f.status, f.reason)
        except BlockedAddressError as e:
            log.info("refused %s: %s", state.final_url or url, e)
            return failed(FetchStatus.HARD, "blocked-address")
        except httpx.TimeoutException:
            if deadline.expired():
                return failed(FetchStatus.TEMP, "deadline")
            return failed(FetchStatus.TEMP, "timeout")
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            return failed(FetchStatus.HARD, "bad-url")
        except httpx.DecodingError:
            return failed(FetchStatus.SOFT, "decode-error")
        except (httpx.RemoteProtocolError, httpx.LocalProtocolError):
            return failed(FetchStatus.TEMP, "protocol-error")
        except (httpx.TransportError, OSError) as e:
            if _is_tls_error(e):
                return failed(FetchStatus.SOFT, "tls-error")
            if deadline.expired():
                return failed(FetchStatus.TEMP, "deadline")
            return failed(FetchStatus.TEMP, "connect-error")
        except Exception:  # a bug must not stop a whole run; it is logged with its traceback
            log.exception("unexpected error while fetching %s", url)
            return failed(FetchStatus.SOFT, "internal-error")

    def fetch_many(self, urls: list[str], accept: str = HTML_ACCEPT) -> dict[str, FetchResult]:
        """Fetch ``urls`` (duplicates once) with ``concurrency`` threads and at most
        ``per_host_concurrency`` requests in flight per host. Results in input order."""
        unique = list(dict.fromkeys(urls))
        results: dict[str, FetchResult] = {}
        for i, fut in self._scheduled(
            [(u, None, None) for u in unique], accept, stop_on_error=False
        ):
            exc = fut.exception()
            if exc is None:
                results[unique[i]] = fut.result()
            else:  # fetch() does not raise; belt and braces
                log.error("fetch of %s raised %r", unique[i], exc)
                results[unique[i]] = FetchResult(unique[i], FetchStatus.SOFT, "internal-error")
        return {u: results[u] for u in unique}

    def fetch_each(
        self, requests: list[tuple[str, str | None, str | None]], accept: str = FEED_ACCEPT
    ) -> Iterator[tuple[int, FetchResult]]:
        """Fetch each (url, etag, last_modified) conditionally, with the limits of ``fetch_many``,
        yielding (index, result) as each completes. An exception raised by ``fetch`` (a stop
        request) starts no new fetch: the ones in flight are yielded, then it is raised."""
        error: BaseException | None = None
        for i, fut in self._scheduled(requests, accept, stop_on_error=True):
            exc = fut.exception()
            if exc is None:
                yield i, fut.result()
            elif error is None:
                error = exc
        if error is not None:
            raise error

    def _scheduled(
        self, requests: list[tuple[str, str | None, str | None]], accept: str, stop_on_error: bool
    ) -> Iterator[tuple[int, Future[FetchResult]]]:
        """(index, completed future) of every request started, ``concurrency`` threads, at most
        ``per_host_concurrency`` in flight per host; none started after a failed future when
        ``stop_on_error``."""
        queues: dict[str, deque[int]] = {}
        for i, (u, _, _) in enumerate(requests):
            queues.setdefault(_host_key(u), deque()).append(i)
        active: dict[str, int] = dict.fromkeys(queues, 0)
        per_host = self.settings.per_host_concurrency
        in_flight: dict[Future[FetchResult], tuple[int, str]] = {}
        workers = max(1, min(self.settings.concurrency, len(requests)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="signals-fetch") as pool:
            while queues or in_flight:
                # round-robin over hosts so one big host does not starve the others: a host
                # that was just served goes to the back of the line
                for host in list(queues):
                    if len(in_flight) >= workers:
                        break
                    q = queues[host]
                    served = False
                    while q and active[host] < per_host and len(in_flight) < workers:
                        i = q.popleft()
                        active[host] += 1
                        served = True
                        url, etag, last_modified = requests[i]
                        in_flight[pool.submit(self.fetch, url, etag, last_modified, accept)] = (
                            i,
                            host,
                        )
                    if not q:
                        del queues[host]
                    elif served:
                        queues[host] = queues.pop(host)
                if not in_flight:
                    continue
                done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                for fut in done:
                    i, host = in_flight.pop(fut)
                    active[host] -= 1
                    if stop_on_error and fut.exception() is not None:
                        queues.clear()
                    yield i, fut

    # -- internals

    def _timeouts(self, deadline: Deadline) -> dict[str, float]:
        left = max(0.001, deadline.remaining())
        return {
            "connect": min(self.settings.connect_timeout_seconds, left),
            "read": left,
            "write": left,
            "pool": left,
        }

    def _check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # raises for a bad port
        except ValueError:
            raise _Failure(FetchStatus.HARD, "bad-url") from None
        if parts.scheme.lower() not in ("http", "https") or not host or not normalize_host(host):
            raise _Failure(FetchStatus.HARD, "bad-url")
        self._guard.check_literal(host)

    def _fetch(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        accept: str,
        deadline: Deadline,
        state: _State,
        start: float,
    ) -> FetchResult:
        s = self.settings
        headers = {
            "User-Agent": s.user_agent,
            "Accept": accept,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        etag = _clean_validator(etag)
        last_modified = _clean_validator(last_modified)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        cookies = httpx.Cookies()  # per fetch: consent redirects work, nothing leaks between sites
        seen: set[tuple[str, str]] = set()
        current = url.strip()
        for _hop in range(s.max_redirects + 1):
            state.final_url = current
            self._check_url(current)
            request = httpx.Request(
                "GET", current, headers=headers, extensions={"timeout": self._timeouts(deadline)}
            )
            cookies.set_cookie_header(request)
            key = (str(request.url.copy_with(fragment=None)), request.headers.get("cookie", ""))
            if key in seen:
                raise _Failure(FetchStatus.HARD, "redirect-loop")
            seen.add(key)
            response = self._transport.handle_request(request)
            response.request = request
            try:
                state.http_status = response.status_code
                state.headers = _header_dict(response.headers)
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    cookies.extract_cookies(response)
                    current = self._redirect_target(current, location)
                    continue
                return self._final(
                    response, url, accept, etag, last_modified, deadline, state, start
                )
            finally:
                response.close()
        raise _Failure(FetchStatus.SOFT, "too-many-redirects")

    @staticmethod
    def _redirect_target(current: str, location: str) -> str:
        try:
            target = urljoin(current, location.strip())
            parts = urlsplit(target)
        except ValueError:
            raise _Failure(FetchStatus.HARD, "bad-url") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise _Failure(FetchStatus.HARD, "bad-url")
        return urlunsplit(parts._replace(fragment=""))

    def _read_body(
        self, response: httpx.Response, limit: int, deadline: Deadline, truncate: bool = False
    ) -> bytes:
        if response.is_stream_consumed:  # built in memory (e.g. MockTransport), decoded already
            content = response.content
            if len(content) > limit and not truncate:
                raise _Failure(FetchStatus.SOFT, "too-large")
            return content[:limit]
        try:
            decoder = _BoundedDecoder(response.headers.get("content-encoding", ""))
        except _DecodeError:
            raise _Failure(FetchStatus.SOFT, "decode-error") from None
        body = bytearray()
        raw = 0
        try:
            for chunk in response.iter_raw():
                raw += len(chunk)
                if raw > self.settings.max_bytes:  # compressed data bigger than the cap
                    raise _TooLarge
                body += decoder.decode(chunk, limit - len(body))
                if deadline.expired():
                    raise _Failure(FetchStatus.TEMP, "deadline")
            body += decoder.finish(limit - len(body))
        except _TooLarge:
            if truncate:
                return bytes(body)
            raise _Failure(FetchStatus.SOFT, "too-large") from None
        except _DecodeError:
            if truncate:
                return bytes(body)
            raise _Failure(FetchStatus.SOFT, "decode-error") from None
        return bytes(body)

    def _final(
        self,
        response: httpx.Response,
        url: str,
        accept: str,
        etag: str | None,
        last_modified: str | None,
        deadline: Deadline,
        state: _State,
        start: float,
    ) -> FetchResult:
        code = response.status_code
        hdrs = state.headers
        if code >= 400 or code == 304:
            state.retry_after = parse_retry_after(
                hdrs.get("retry-after"), server_date=hdrs.get("date")
            )
        new_etag = _clean_validator(hdrs.get("etag"))
        new_lm = _clean_validator(hdrs.get("last-modified"))

        def result(status: FetchStatus, reason: str, body: bytes | None = None) -> FetchResult:
            return FetchResult(
                url=url,
                status=status,
                reason=reason,
                http_status=code,
                final_url=state.final_url,
                content_type=hdrs.get("content-type"),
                headers=hdrs,
                body=body,
                etag=new_etag,
                last_modified=new_lm,
                retry_after=state.retry_after,
                elapsed=self._clock() - start,
            )

        if code == 304:
            # A 304 may omit the validators; the ones we sent are still the current ones.
            new_etag = new_etag or etag
            new_lm = new_lm or last_modified
            return result(FetchStatus.NOT_MODIFIED, "not-modified")
        wants_feed = _wants_feed(accept)
        if 200 <= code < 300:
            length = hdrs.get("content-length", "")
            if length.isdigit() and int(length) > self.settings.max_bytes and not _encoded(hdrs):
                return result(FetchStatus.SOFT, "too-large")
            body = self._read_body(response, self.settings.max_bytes, deadline)
            if is_challenge(code, hdrs, body[:_SNIFF_BYTES], wants_feed):
                return result(FetchStatus.SOFT, "challenge-page")
            return result(FetchStatus.OK, "ok", body)
        head = b""
        if code in (403, 503) or "cf-mitigated" in hdrs:
            try:
                head = self._read_body(response, _SNIFF_BYTES, deadline, truncate=True)
            except (_Failure, httpx.TransportError):
                head = b""
            if is_challenge(code, hdrs, head, wants_feed):
                return result(FetchStatus.SOFT, "challenge-page")
        if code == 410:
            return result(FetchStatus.HARD, "http-410")
        if code == 429:
            return result(FetchStatus.TEMP, "http-429")
        if code >= 500:
            return result(FetchStatus.TEMP, "http-5xx")
        return result(FetchStatus.SOFT, f"http-{code}")
