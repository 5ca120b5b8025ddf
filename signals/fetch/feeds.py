"""Feed bytes -> ``ParsedFeed``; article bytes -> ``str``.

Everything a feed contains is untrusted. Before feedparser sees a byte:

* a body declaring entities (``<!ENTITY``, case-insensitive) is refused: feedparser only strips
  the DOCTYPE when it sits at a line start, so a one-line "billion laughs" reaches expat and
  expands to a 100-million-character title. The check runs on three views of the body so no
  encoding hides the declaration: the raw bytes with NULs ignored (UTF-16/32 of either
  endianness, with or without BOM), the body decoded with the codec its BOM or first bytes
  announce (UTF-16/32, EBCDIC), and exactly the UTF-8 text feedparser itself will parse
  (its own charset resolution: HTTP charset, XML declaration, e.g. UTF-7);
* a DOCTYPE naming an external DTD (``SYSTEM``, or ``PUBLIC`` other than the harmless
  Netscape RSS 0.91 one) is refused;
* feedparser is given a *file object*, never a ``str`` (treated as a URL or a path) nor even
  ``bytes`` (``open()`` accepts bytes paths, so a body such as ``b"/etc/passwd"`` would be read
  from disk), with the real response headers and ``content-location`` = the final URL.

Entries become ``ParsedEntry``: text fields are plain text (HTML stripped, entities decoded)
capped at ``MAX_FIELD`` characters, links are canonical http(s) URLs, dates aware UTC.
"""

from __future__ import annotations

import codecs
import html
import io
import logging
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import feedparser

from ..models import ParsedEntry, ParsedFeed
from .urls import canonicalize

try:  # feedparser's own charset resolution: what we check is then exactly what it parses
    from feedparser.encodings import convert_to_utf8 as _fp_convert_to_utf8
except ImportError:  # pragma: no cover - feedparser 6 has it
    _fp_convert_to_utf8 = None

try:
    import charset_normalizer
except ImportError:  # pragma: no cover - optional
    charset_normalizer = None  # type: ignore[assignment]

__all__ = [
    "MAX_FIELD",
    "PROBLEMS",
    "decode_html",
    "html_to_text",
    "parse_feed",
    "plain_text",
    "refusal",
]

log = logging.getLogger(__name__)

MAX_FIELD = 100_000
_MAX_INPUT = 1_000_000  # characters of one field we are willing to process at all
PROBLEMS = frozenset(
    {"empty", "refused-entity", "refused-external-dtd", "html-page", "not-a-feed", "parse-error"}
)
# Public identifiers of external DTDs that are harmless and common in real feeds.
_SAFE_PUBLIC_IDS = frozenset({"-//netscape communications//dtd rss 0.91//en"})


def _nul_tolerant(word: str) -> re.Pattern[bytes]:
    parts = [
        re.escape(c.encode()) if not c.isalpha() else f"[{c.lower()}{c.upper()}]".encode()
        for c in word
    ]
    return re.compile(rb"\x00*".join(parts))


_ENTITY_RAW = _nul_tolerant("<!ENTITY")
_ENTITY_TEXT = re.compile(r"<!\s*ENTITY", re.IGNORECASE)
_ENTITY_BYTES = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_SNIFF = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # '<?xm' in EBCDIC
    (codecs.BOM_UTF8, "utf-8"),
)


def _sniffed_codec(body: bytes) -> str | None:
    for prefix, codec in _SNIFF:
        if body.startswith(prefix):
            return codec
    return None


def _feedparser_view(body: bytes, headers: Mapping[str, str]) -> bytes:
    """The UTF-8 bytes feedparser will hand to its XML parser."""
    if _fp_convert_to_utf8 is None:  # pragma: no cover
        return body
    try:
        out = _fp_convert_to_utf8(dict(headers), body, {})
    except Exception:  # its job, not ours, to fail on it; the other views still apply
        return body
    return out if isinstance(out, bytes) else body


def _skip_prolog_item(text: bytes, i: int) -> int | None:
    """Index after a prolog item (XML declaration, PI, comment) at ``i``, or None."""
    if text.startswith(b"<?", i):
        end = text.find(b"?>", i + 2)
        return None if end < 0 else end + 2
    if text.startswith(b"<!--", i):
        end = text.find(b"-->", i + 4)
        return None if end < 0 else end + 3
    return None


_DOCTYPE = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)
_EXTERNAL_ID = re.compile(
    rb"""\s*[^\s\[>]+\s+(SYSTEM|PUBLIC)\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE
)


def _external_dtd(text: bytes) -> bool:
    """Does the document's prolog have a DOCTYPE with an external identifier (a DTD that a
    parser could fetch), other than a known harmless public one?"""
    i = 0
    n = min(len(text), 1_000_000)
    while i < n:
        while i < n and text[i : i + 1] in (b" ", b"\t", b"\r", b"\n", b"\xef", b"\xbb", b"\xbf"):
            i += 1
        nxt = _skip_prolog_item(text, i)
        if nxt is not None:
            i = nxt
            continue
        if not _DOCTYPE.match(text, i):
            return False  # the root element (or junk): the prolog is over
        m = _EXTERNAL_ID.match(text, i + len(b"<!DOCTYPE"))
        if m is None:
            return False
        if m.group(1).upper() == b"SYSTEM":
            return True
        public_id = (m.group(2) if m.group(2) is not None else m.group(3) or b"").decode("latin-1")
        return " ".join(public_id.split()).lower() not in _SAFE_PUBLIC_IDS
    return False


def refusal(body: bytes, headers: Mapping[str, str] | None = None) -> str | None:
    """Why ``body`` must not reach an XML parser ("refused-entity", "refused-external-dtd"),
    or None."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if _ENTITY_RAW.search(body) or _ENTITY_BYTES.search(body):
        return "refused-entity"
    codec = _sniffed_codec(body)
    if codec is not None:
        try:
            text = body.decode(codec, errors="replace")
        except LookupError:  # pragma: no cover - all are standard codecs
            text = ""
        if _ENTITY_TEXT.search(text):
            return "refused-entity"
    view = _feedparser_view(body, headers)
    if _ENTITY_BYTES.search(view):
        return "refused-entity"
    if _external_dtd(view) or _external_dtd(body.replace(b"\x00", b"")):
        return "refused-external-dtd"
    return None


# --------------------------------------------------------------------------- text


_BLOCK_TAGS = frozenset(
    {
        "p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "table", "blockquote", "pre",
        "h1", "h2", "h3", "h4", "h5", "h6", "hr", "section", "article", "header", "footer",
        "figure", "figcaption", "dd", "dt",
    }
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "head"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002 (HTMLParser's)
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002 (HTMLParser's)
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags removed, entities decoded, block elements on
    their own lines."""
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # html.parser is lenient; this is only belt and braces
        return html.unescape(re.sub(r"<[^>]*>", " ", markup))
    return "".join(parser.parts)


def _normalise(text: str, single_line: bool) -> str:
    text = _CONTROL.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    kept = [line for line in lines if line]
    return (" " if single_line else "\n").join(kept)


def plain_text(
    value: str | None, content_type: str | None = None, single_line: bool = False
) -> str:
    """A feed field as plain text: HTML stripped and entities decoded when ``content_type``
    says it is (X)HTML, whitespace normalised, capped at ``MAX_FIELD`` characters."""
    if not value:
        return ""
    value = value[:_MAX_INPUT]
    if content_type and "html" in content_type.lower():
        value = html_to_text(value)
    return _normalise(value, single_line)[:MAX_FIELD]


def _detail_text(obj: Mapping[str, Any], key: str, single_line: bool) -> str:
    value = obj.get(key)
    detail = obj.get(f"{key}_detail") or {}
    ctype = detail.get("type") if isinstance(detail, Mapping) else None
    return plain_text(value if isinstance(value, str) else None, ctype, single_line)


# --------------------------------------------------------------------------- feeds


_LANG = re.compile(r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$")


def _language(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().split(",")[0].strip()
    return value.lower().replace("_", "-") if _LANG.match(value) else None


def _published(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        st = entry.get(key)
        if st:
            try:
                y, mo, d, h, mi, sec = (int(x) for x in st[:6])
                return datetime(y, mo, d, h, mi, min(sec, 59), tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return None


def _link(value: Any, base: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return canonicalize(value[:MAX_FIELD], base)


def _entry(entry: Mapping[str, Any], base: str) -> ParsedEntry:
    guid = entry.get("id")
    guid = guid.strip()[:MAX_FIELD] if isinstance(guid, str) and guid.strip() else None
    content = entry.get("content") or []
    first = content[0] if content and isinstance(content[0], Mapping) else {}
    summary_value = entry.get("summary")
    detail = entry.get("summary_detail")
    if isinstance(summary_value, str) and summary_value:
        # feedparser copies the content into "summary" without a summary_detail when the
        # entry has only content: the content's type applies then
        ctype = (
            detail.get("type") if isinstance(detail, Mapping) else first.get("type", "text/html")
        )
        summary = plain_text(summary_value, ctype)
    else:
        summary = plain_text(first.get("value"), first.get("type"))
    language = None
    for key in ("summary_detail", "title_detail"):
        detail = entry.get(key)
        if isinstance(detail, Mapping):
            language = _language(detail.get("language"))
            if language:
                break
    return ParsedEntry(
        guid=guid,
        link=_link(entry.get("link"), base),
        title=_detail_text(entry, "title", single_line=True),
        summary=summary,
        published=_published(entry),
        language=language,
    )


_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S
)


def _looks_like_html(body: bytes, headers: Mapping[str, str]) -> bool:
    head = body[:4096].replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe")
    if _HTML_START.match(head):
        return True
    return "html" in headers.get("content-type", "").lower() and b"<rss" not in head.lower()


def parse_feed(body: bytes, headers: dict[str, str], url: str) -> ParsedFeed:
    """Parse a feed response. ``headers`` are the response headers, ``url`` the final URL.

    Never raises for bad input: a body that is not a usable feed gives a ParsedFeed with
    ``problem`` set (one of ``PROBLEMS``) and no entries.
    """
    hdrs = {k.lower(): v for k, v in (headers or {}).items()}
    hdrs["content-location"] = url

    def problem(
        kind: str, title: str = "", link: str | None = None, lang: str | None = None
    ) -> ParsedFeed:
        return ParsedFeed(title=title, link=link, language=lang, entries=[], problem=kind)

    if not body or not body.strip(b" \t\r\n\x00\xef\xbb\xbf\xfe\xff"):
        return problem("empty")
    refused = refusal(body, hdrs)
    if refused == "refused-external-dtd" and _HTML_START.match(body[:4096]):
        return problem("html-page")  # an (X)HTML page with its DTD: not a feed either way
    if refused is not None:
        log.warning("refused feed %s: %s", url, refused)
        return problem(refused)
    try:
        # A file object: a str would be taken for a URL or path, and so would bytes by open().
        # Without Content-Language: feedparser would pass the header down to every entry as if
        # it were the entry's own xml:lang; here it is only the feed's last-resort language.
        parser_headers = {k: v for k, v in hdrs.items() if k != "content-language"}
        d = feedparser.parse(io.BytesIO(body), response_headers=parser_headers)
    except Exception:
        log.warning("feedparser failed on %s", url, exc_info=True)
        return problem("parse-error")
    feed = d.get("feed") or {}
    title = _detail_text(feed, "title", single_line=True)
    link = _link(feed.get("link"), url)
    language = _language(feed.get("language")) or _language(hdrs.get("content-language"))
    raw_entries = d.get("entries") or []
    if not raw_entries:
        if _looks_like_html(body, hdrs) and not d.get("version"):
            return problem("html-page", title, link, language)
        if d.get("bozo") or not d.get("version"):
            return problem("not-a-feed", title, link, language)
    # an entry's language: its own xml:lang (or its feed element's), else the feed's declared one
    entries = [_entry(e, url) for e in raw_entries]
    if language:
        entries = [e if e.language else replace(e, language=language) for e in entries]
    return ParsedFeed(title=title, link=link, language=language, entries=entries)


# --------------------------------------------------------------------------- article pages


_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_SINGLE_BYTE_WESTERN = frozenset({"ascii", "latin_1", "iso8859_1", "cp1252", "iso8859_15"})


def _codec(label: str | None) -> str | None:
    """Python codec name for a charset label, with the browsers' aliases; None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in ("iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii", "iso8859-1", "l1"):
        return "cp1252"  # what every browser does
    if label in ("utf-16", "utf-16le", "utf-16be", "utf-32"):
        return None  # a declaration in ASCII-compatible bytes cannot be UTF-16; BOMs decide
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type, re.IGNORECASE)
    return m.group(1) if m else None


def _valid_utf8_with_non_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_html(body: bytes, content_type: str | None) -> str:
    """Decode an article page to ``str`` (for trafilatura, which must get text, not bytes).

    Order: BOM; charset of the Content-Type header; ``<meta charset>``; detection with
    charset_normalizer; UTF-8 with replacement characters. A declared charset is only used
    if the bytes decode with it; a "Latin-1/Windows-1252" declaration on bytes that are valid
    UTF-8 (a very common server misconfiguration) is overruled in favour of UTF-8.
    """
    if not body:
        return ""
    for bom, bom_codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            return body[len(bom) :].decode(bom_codec, errors="replace")
    meta = _META_CHARSET.search(body[:8192])
    declared = [
        _header_charset(content_type),
        meta.group(1).decode("ascii", "replace") if meta else None,
    ]
    for label in declared:
        codec = _codec(label)
        if codec is None:
            continue
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue  # declared wrongly: try the next clue
        if codec in _SINGLE_BYTE_WESTERN and _valid_utf8_with_non_ascii(body):
            return body.decode("utf-8")
        return text
    if _valid_utf8_with_non_ascii(body) or body.isascii():
        return body.decode("utf-8")
    guess = _detect(body)
    if guess is not None:
        return body.decode(guess, errors="replace")
    return body.decode("utf-8", errors="replace")


# Latin-script single-byte charsets that detectors confuse with one another on short texts.
_LATIN_FAMILY = frozenset(
    {
        "cp1250", "cp1252", "cp1254", "cp1257", "cp775", "cp850", "cp858", "iso8859_1",
        "iso8859_2", "iso8859_3", "iso8859_4", "iso8859_9", "iso8859_10", "iso8859_13",
        "iso8859_14", "iso8859_15", "iso8859_16", "mac_latin2", "mac_roman", "mac_iceland",
    }
)  # fmt: skip


def _detect(body: bytes) -> str | None:
    """Charset of undeclared (or wrongly declared) bytes. Detection cannot tell the Latin
    code pages apart on a short text (it often says cp1250 for French); the news we watch is
    mostly Western, so Windows-1252 wins whenever the detector lands in the Latin family."""
    cp1252_ok = True
    try:
        body.decode("cp1252")
    except UnicodeDecodeError:
        cp1252_ok = False
    if charset_normalizer is not None:
        best = charset_normalizer.from_bytes(body[:200_000]).best()
        if best is not None and best.encoding:
            name = codecs.lookup(best.encoding).name.replace("-", "_")
            if cp1252_ok and name in _LATIN_FAMILY:
                return "cp1252"
            return best.encoding
    return "cp1252" if cp1252_ok else None
