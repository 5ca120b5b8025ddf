"""URL canonicalisation: one article reached through two feeds is one article.

``canonicalize`` is a pure, idempotent function (``canonicalize(canonicalize(u)) ==
canonicalize(u)``) that keeps only http/https URLs and removes what does not identify the
resource: scheme/host case, default ports, the fragment and tracking parameters.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

import idna

__all__ = ["TRACKING_PARAMS", "canonicalize", "is_tracking_param", "normalize_host"]

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "mc_cid",
        "mc_eid",
        "xtor",
        "at_medium",
        "at_campaign",
        "ocid",
        "cmpid",
        "_ga",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters left as they are in a path / query; everything else is percent-encoded.
# '%' is kept so existing escapes are not double-encoded (which keeps the function idempotent).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/?%:@!$&'()*+,;=-._~"
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_USERINFO_SAFE = "%:!$&'()*+,;=-._~"
_HOST_OK = re.compile(r"^[a-z0-9._-]+$")  # underscores occur in real host names


def is_tracking_param(name: str) -> bool:
    """True for query parameter names that only track the reader (``utm_*``, ``fbclid``…)."""
    key = unquote_plus(name).strip().lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


def _upper_escapes(s: str) -> str:
    return _ESCAPE.sub(lambda m: m.group(0).upper(), s)


def normalize_host(hostname: str) -> str | None:
    """Lower-case ASCII (IDNA) form of a host name, ``[v6]`` for IPv6; None if invalid."""
    host = hostname.strip().lower()
    if not host:
        return None
    if ":" in host:  # IPv6 literal (urlsplit has removed the brackets)
        try:
            return f"[{ipaddress.IPv6Address(host.split('%', 1)[0]).compressed}]"
        except ValueError:
            return None
    if host.isascii():
        return host if _HOST_OK.match(host) else None
    try:
        encoded = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        try:  # IDNA 2003, more lenient (e.g. some symbols); still ASCII or nothing
            encoded = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    encoded = encoded.lower()
    return encoded if _HOST_OK.match(encoded) else None


def _query(query: str) -> str:
    kept = [p for p in query.split("&") if p and not is_tracking_param(p.split("=", 1)[0])]
    return _upper_escapes(quote("&".join(kept), safe=_QUERY_SAFE))


def canonicalize(url: str, base: str | None = None) -> str | None:
    """The canonical form of ``url`` (resolved against ``base``), or None if it is not a
    usable http/https URL."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if base is not None:
        base = base.strip()
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # bad port, bad IPv6 literal
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or parts.hostname is None:
        return None
    host = normalize_host(parts.hostname)
    if host is None:
        return None
    netloc = host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    userinfo = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    if userinfo:
        netloc = f"{_upper_escapes(quote(userinfo, safe=_USERINFO_SAFE))}@{netloc}"
    path = _upper_escapes(quote(parts.path, safe=_PATH_SAFE)) or "/"
    return urlunsplit((scheme, netloc, path, _query(parts.query), ""))
