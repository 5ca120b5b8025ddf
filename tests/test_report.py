"""Digest rendering: JSON round-trip, Markdown table, HTML safety against hostile feed text,
atomic files, index page and Atom feed."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from signals.report import (
    Digest,
    DigestArticle,
    DigestRupture,
    DigestSentence,
    ItemActivity,
    digest_from_json,
    digest_to_dict,
    render_html,
    render_json,
    render_markdown,
    safe_url,
    write_digest,
)
from signals.report.render import md_escape, sparkline, summary_text
from signals.score import (
    ScoreParams,
    WeeklyCounts,
    momentum_order,
    previous_weeks,
    score_week,
    week_bounds,
)

WEEK = "2022-W10"
BASE = previous_weeks(WEEK, 8)
HIST = [*previous_weeks(WEEK, 11), WEEK]
PUBLISHED = datetime(2022, 3, 8, 14, 30, tzinfo=UTC)

# 19 ruptures: (baseline per week, this week, sources this week, doubts this week)
SHAPES: dict[str, tuple[int, int, int, int]] = {
    "post-patrimonial": (1, 20, 6, 2),  # gaining
    "ville-reseau": (1, 12, 4, 0),  # gaining
    "travail-libere": (20, 0, 0, 1),  # fading
    "sante-connectee": (0, 2, 2, 0),  # new
    "ecole-ouverte": (5, 5, 3, 1),  # steady, with evidence
    "etat-plateforme": (3, 2, 2, 0),  # steady
}
RUPTURE_IDS = [*SHAPES, *(f"rupture-{i:02d}" for i in range(len(SHAPES), 19))]


def make_counts() -> WeeklyCounts:
    evidence: dict[str, dict[str, int]] = {}
    sources: dict[str, dict[str, int]] = {}
    doubts: dict[str, dict[str, int]] = {}
    first: dict[str, str | None] = {}
    for rid in RUPTURE_IDS:
        base, now, src, dbt = SHAPES.get(rid, (0, 0, 0, 0))
        evidence[rid] = {**dict.fromkeys(BASE, base), WEEK: now}
        sources[rid] = {**dict.fromkeys(BASE, min(base, 5)), WEEK: src}
        doubts[rid] = {WEEK: dbt}
        first[rid] = BASE[0] if base else (WEEK if now else None)
    return WeeklyCounts(
        analysed=dict.fromkeys(HIST, 1000),
        evidence=evidence,
        sources=sources,
        doubts=doubts,
        first_evidence_week=first,
    )


def spans_of(sentence: str, *words: str) -> tuple[tuple[int, int], ...]:
    """Where ``words`` are in ``sentence``: what the matcher would have found."""
    return tuple((sentence.index(w), sentence.index(w) + len(w)) for w in words)


def article(i: int, text: str | None = None, url: str | None = None) -> DigestArticle:
    sentence = (
        f"À Bristol, les Monnaies Locales se développent ({text})."
        if text is not None
        else "À Bristol, les Monnaies Locales se développent."
    )
    return DigestArticle(
        url=url if url is not None else f"https://news.example/{i}?utm=no&x=<{i}>",
        title=text if text is not None else f"Les monnaies locales, article {i}",
        source=text if text is not None else "Le Monde — Économie",
        published=PUBLISHED - timedelta(hours=i),
        item_ids=("monnaies-alternatives", text or "x"),
        item_labels=("le développement des monnaies alternatives", text or "label"),
        kinds=("watch", "early_sign"),
        sentence=sentence,
        terms=("monnaie locale", "Bristol"),
        sentences=(
            DigestSentence(
                sentence,
                spans_of(sentence, "Bristol", "Monnaies Locales"),
                ("monnaies-alternatives",),
            ),
        ),
    )


#: The ruptures with a candidate near the line: one listed in a section, one quiet.
NEAR_LINE = ("post-patrimonial", "travail-libere")
#: The fixture's shapes are written for an 8-week baseline (``BASE``).
PARAMS = ScoreParams(baseline_weeks=8, min_evidence=3)


def make_digest(payload: str | None = None, articles: int = 3) -> Digest:
    scores = score_week(make_counts(), WEEK, RUPTURE_IDS, PARAMS)
    ruptures = []
    for s in scores:
        text = payload
        ruptures.append(
            DigestRupture(
                id=s.rupture_id,
                title=text if text is not None else f"Title of {s.rupture_id}",
                summary=text if text is not None else f"What {s.rupture_id} imagines.",
                score=s,
                items=(
                    ItemActivity(
                        "monnaies-alternatives",
                        text if text is not None else "le développement des monnaies alternatives",
                        "watch",
                        s.evidence,
                    ),
                    ItemActivity("signe-1", text or "un signe avant-coureur", "early_sign", 2),
                    ItemActivity("doute-1", text or "une raison de douter", "doubt", s.doubts),
                    ItemActivity("odd", text or "odd kind", text or "mystery", 1),
                ),
                articles=tuple(
                    article(i, text, url=text) for i in range(min(s.evidence, articles))
                ),
                counter_evidence=tuple(
                    article(100 + i, text, url=text) for i in range(min(s.doubts, articles))
                ),
                announcers=(text or "Jeremy Rifkin", "Rachel Botsman"),
                entities=((text or "Bristol", 4), ("Banque de France", 2)),
                near_line=(dataclasses.replace(article(200, text, url=text), score=0.47),)
                if s.rupture_id in NEAR_LINE
                else (),
            )
        )
    start, end = week_bounds(WEEK)
    return Digest(
        week=WEEK,
        start=start,
        end=end,
        generated_at=datetime(2022, 3, 14, 6, 0, tzinfo=UTC),
        ruleset_version=payload or "ruleset-3f2a9c",
        articles_analysed=1000,
        sources_active=42,
        ruptures=tuple(ruptures),
        params=PARAMS,
    )


# --------------------------------------------------------------------------- HTML inspection


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def hrefs(self) -> list[str]:
        return [v or "" for _, attrs in self.tags for k, v in attrs if k == "href"]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


DIGEST_TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p", "table",
    "thead", "tbody", "tr", "th", "td", "span", "section", "em", "strong", "small", "ul", "li",
    "ol", "div", "time", "blockquote", "mark", "aside", "a", "details", "summary",
}  # fmt: skip
DIGEST_ATTRS = {"lang", "charset", "name", "content", "http-equiv", "class", "title", "href",
                "rel", "datetime", "start"}  # fmt: skip
MARKDOWN_TAGS = {"h1", "h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "ul", "ol",
                 "li", "a", "strong", "em", "blockquote"}  # fmt: skip


def assert_safe_html(html: str, allowed_tags: set[str], allowed_attrs: set[str]) -> Page:
    page = parse(html)
    for tag, attrs in page.tags:
        assert tag in allowed_tags, f"unexpected <{tag}>"
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler {name}={value!r}"
            assert name in allowed_attrs, f"unexpected attribute {name} on <{tag}>"
            if name == "style":  # markdown-it's table column alignment, nothing else
                assert re.fullmatch(r"text-align:(left|right|center)", value or ""), value
        if tag == "meta":
            assert dict(attrs).get("http-equiv") in (None, "Content-Security-Policy")
    for href in page.hrefs():
        assert href.startswith(("http://", "https://")), href
        assert safe_url(href) == href
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in re.sub(r"\s", "", " ".join(h.lower() for h in page.hrefs()))
    # the same checks with a second, stricter parser
    lxml_html = pytest.importorskip("lxml.html")
    root = lxml_html.document_fromstring(html)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue  # comments
        assert el.tag in allowed_tags | {"html", "head", "body"}, el.tag  # lxml wraps fragments
        assert not any(k.lower().startswith("on") for k in el.attrib)
        if "href" in el.attrib:
            assert el.attrib["href"].startswith(("http://", "https://"))
    return page


def markdown_to_html(text: str) -> str:
    markdown_it = pytest.importorskip("markdown_it")
    # the most permissive common setup: raw HTML passes through, GFM tables
    md = markdown_it.MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.validateLink = lambda _url: True  # a naive renderer: our escaping must do the work
    return str(md.render(text))


# --------------------------------------------------------------------------- XSS payloads

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '"><iframe src=javascript:alert(1)>',
    "'><script>alert(1)</script>",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x00javascript:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript&colon;alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:text/html,<script>alert(1)</script>",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:msgbox(1)",
    "//evil.example/protocol-relative",
    "/relative/path",
    "https:javascript:alert(1)",
    "http:/\\evil.example",
    'https://ok.example/"onmouseover="alert(1)',
    "http://ok.example/' onerror='alert(1)",
    "https://ok.example/<script>alert(1)</script>",
    "https://ok.example/path?q=<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="&#x6a;avascript:alert(1)">click</a>',
    "[click](javascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "![img](https://evil.example/x.png)",
    "[x]: javascript:alert(1)",
    "<https://evil.example/autolink>",
    "<javascript:alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<style>@import 'http://evil.example/x.css';</style>",
    "<link rel=stylesheet href=http://evil.example/x.css>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=http://evil.example/>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><input type=submit>",
    "<video><source onerror=alert(1)>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    '<div style="background:url(javascript:alert(1))">',
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<xss onafterscriptexecute=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "{{ 7*7 }}{% raw %}{{ config }}",
    "`<script>alert(1)</script>`",
    "*bold* _it_ | pipe | # not a heading ~~strike~~",
    "x\n<script>alert(1)</script>",
    "\n# heading injection\n| a | b |\n|---|---|",
    "1. list ] ( ) \\ ` > quote",
    "mailto:victim@evil.example",
    "www.evil.example and https://evil.example/bare",
    "\u202eevil\u200b\x1b[31m",
    "https://user:pass@ok.example/",
]


def test_at_least_fifty_payloads() -> None:
    assert len(XSS_PAYLOADS) >= 50
    assert len(set(XSS_PAYLOADS)) == len(XSS_PAYLOADS)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_html_is_safe_with_hostile_text_everywhere(payload: str) -> None:
    d = make_digest(payload)
    html = render_html(d)
    page = assert_safe_html(html, DIGEST_TAGS, DIGEST_ATTRS)
    # escaped once, not dropped and not double-escaped: the text reads back as sent
    text = "".join(page.text)
    assert " ".join(payload.split()) in text
    # self-contained: no <link>, <img>, src= (the allowlists above), one inline stylesheet
    assert sum(1 for tag, _ in page.tags if tag == "style") == 1


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_markdown_is_safe_with_hostile_text_everywhere(payload: str) -> None:
    md = render_markdown(make_digest(payload))
    # no raw HTML at all: the only "<" are our link destinations "<http(s)://…>"
    assert re.findall(r"<(?!https?://)", md) == []
    for dest in re.findall(r"\]\(<([^>]*)>\)", md):
        assert dest.startswith(("http://", "https://")) and safe_url(dest) == dest
    assert_safe_html(markdown_to_html(md), MARKDOWN_TAGS, {"href", "style"})


@pytest.mark.parametrize("payload", XSS_PAYLOADS[:20])
def test_json_carries_hostile_text_verbatim(payload: str) -> None:
    d = make_digest(payload)
    o = json.loads(render_json(d))
    assert o["ruptures"][0]["title"] == payload
    assert digest_from_json(render_json(d)) == sorted_digest(d)


# --------------------------------------------------------------------------- JSON


def sorted_digest(d: Digest) -> Digest:
    order = [s.rupture_id for s in momentum_order([r.score for r in d.ruptures])]
    by_id = {r.id: r for r in d.ruptures}
    return dataclasses.replace(d, ruptures=tuple(by_id[i] for i in order))


def test_json_round_trips_and_has_all_keys() -> None:
    d = make_digest()
    text = render_json(d)
    o = json.loads(text)
    assert {
        "week", "start", "end", "generated_at", "ruleset_version", "articles_analysed",
        "sources_active", "ruptures",
    } <= set(o)  # fmt: skip
    assert o["week"] == WEEK
    assert o["start"] == "2022-03-07T00:00:00+00:00"
    assert o["end"] == "2022-03-14T00:00:00+00:00"
    assert len(o["ruptures"]) == 19
    rupture_keys = {
        "id", "title", "status", "confidence", "evidence", "sources", "doubts", "rate",
        "baseline_rate", "rate_ratio", "p_value", "q_value", "history", "items", "articles",
        "counter_evidence", "announcers", "entities", "near_line",
    }  # fmt: skip
    article_keys = {"url", "title", "source", "published", "item_ids", "kinds", "sentence"}
    for r in o["ruptures"]:
        assert rupture_keys <= set(r)
        assert len(r["history"]) == 12
        for it in r["items"]:
            assert set(it) == {"item_id", "label", "kind", "articles"}
        for a in [*r["articles"], *r["counter_evidence"], *r["near_line"]]:
            assert article_keys <= set(a)
            assert datetime.fromisoformat(a["published"]).utcoffset() == timedelta(0)
        for e in r["entities"]:
            assert set(e) == {"name", "count"}
    # sorted by momentum, like the table
    momenta = [r["momentum"] for r in o["ruptures"]]
    assert momenta == sorted(momenta, reverse=True)
    assert [r["id"] for r in o["ruptures"]][:2] == ["post-patrimonial", "ville-reseau"]
    assert o["ruptures"][-1]["id"] == "travail-libere"
    # null when undefined
    new = next(r for r in o["ruptures"] if r["id"] == "sante-connectee")
    assert new["status"] == "new" and new["rate_ratio"] is None
    assert "null" in text
    # and back
    back = digest_from_json(text)
    assert back == sorted_digest(d)
    assert render_json(back) == text


def test_json_refuses_naive_datetimes() -> None:
    d = make_digest()
    naive = dataclasses.replace(d, generated_at=datetime(2022, 3, 14))  # noqa: DTZ001
    with pytest.raises(ValueError):
        render_json(naive)


# --------------------------------------------------------------------------- Markdown


def table_rows(md: str) -> list[list[str]]:
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    return [re.split(r"(?<!\\)\|", row)[1:-1] for row in rows[1:]]  # skip the header


def test_markdown_has_title_summary_table_sections_method() -> None:
    d = make_digest()
    md = render_markdown(d)
    assert md.startswith("# Signals — week 2022-W10 (7–13 March 2022)\n")
    assert "1,000 articles analysed from 42 active sources" in md
    assert "2 are gaining evidence" in md and "1 is fading" in md
    rows = table_rows(md)
    assert len(rows) == 19
    titles = [row[1].strip() for row in rows]
    assert titles == [md_escape(r.title) for r in sorted_digest(d).ruptures]
    first = [c.strip() for c in rows[0]]
    assert first[2] == "gaining" and first[3] == "20"
    assert first[4] == "20.0 vs 1.0" and first[5] == "×20.0"
    assert first[6] == "6" and first[7] == "2"
    assert first[9] == "▁▁▁▂▂▂▂▂▂▂▂█"
    # one section per moved rupture, none for steady/quiet
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    moved = [h for h in headings if re.match(r"## \d+\. ", h)]
    assert len(moved) == 4
    assert any("Title of sante-connectee — new" in h for h in moved)
    assert "## Also seen this week (steady)" in headings
    assert "- Title of ecole-ouverte: 5 articles" in md
    assert headings[-1] == "## Method"
    assert "Benjamini–Hochberg" in md and "previous 8 weeks" in md
    # candidates near the line: their own section, after the steady ones, before the method
    assert headings[-2] == "## Near the line (not counted)"
    near = md.split("## Near the line (not counted)")[1].split("## Method")[0]
    assert "at least 0.40, best first, at most 3 per rupture" in near
    assert near.count("### ") == 2 and "### Title of post-patrimonial" in near
    assert "score 0.47" in near and "article 200" in near
    # the matched terms are bold; the article is a link; the doubts are beside
    assert "les **Monnaies Locales** se développent" in md
    assert "**Bristol**" in md
    assert "[Les monnaies locales, article 0](<https://news.example/0?utm=no&x=%3C0%3E>)" in md
    assert "### Counter-evidence (2) — shown, not netted out" in md
    assert "- une raison de douter — 2 articles" in md


def test_markdown_escapes_and_links() -> None:
    assert md_escape("[a](javascript:x) <b> & *c* | d") == (
        "\\[a\\](javascript:x) &lt;b&gt; &amp; \\*c\\* \\| d"
    )
    assert md_escape("# title") == "\\# title"
    assert md_escape("12. not a list") == "\\12. not a list"
    assert md_escape("a\n\nb") == "a b"
    assert md_escape("see https://x.example and www.y.example, a@b.example") == (
        "see https\\://x.example and www\\.y.example, a\\@b.example"
    )


# --------------------------------------------------------------------------- HTML


def test_html_structure() -> None:
    d = make_digest()
    html = render_html(d)
    page = assert_safe_html(html, DIGEST_TAGS, DIGEST_ATTRS)
    assert html.startswith("<!doctype html>")
    assert "<title>Signals — week 2022-W10 (7–13 March 2022)</title>" in html
    assert "Content-Security-Policy" in html
    rows = html.split("<tbody>")[1].split("</tbody>")[0].count("<tr>")
    assert rows == 19
    assert html.count('<section class="rupture">') == 4
    assert "<mark>Monnaies Locales</mark>" in html and "<mark>Bristol</mark>" in html
    assert '<aside class="doubts">' in html
    assert html.count('<section class="near-line">') == 1
    assert "<h3>Title of travail-libere</h3>" in html.split('<section class="near-line">')[1]
    assert "https://news.example/0?utm=no&amp;x=%3C0%3E" in html
    assert all(h.startswith("https://news.example/") for h in page.hrefs())
    assert "Method" in "".join(page.text)


def test_html_unlinkable_urls_are_plain_text() -> None:
    d = make_digest()
    r = d.ruptures[0]
    bad = dataclasses.replace(r.articles[0], url="javascript:alert(1)", title="Bad link")
    d = dataclasses.replace(d, ruptures=(dataclasses.replace(r, articles=(bad,)), *d.ruptures[1:]))
    html = render_html(d)
    assert_safe_html(html, DIGEST_TAGS, DIGEST_ATTRS)
    assert (
        '<span class="unlinked">Bad link</span> <span class="url">javascript:alert(1)</span>'
        in html
    )
    md = render_markdown(d)
    assert "1. Bad link — " in md


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=1&c=2#f", "https://example.org/a?b=1&c=2#f"),
        ("HTTP://Example.org/", "HTTP://Example.org/"),
        ("https://example.org/é <x>", None),  # whitespace: refused, not repaired
        ("https://example.org/é<x>\"'", "https://example.org/%C3%A9%3Cx%3E%22'"),
        ("javascript:alert(1)", None),
        ("JAVASCRIPT:alert(1)", None),
        ("data:text/html,hi", None),
        ("//example.org/x", None),
        ("/x", None),
        ("x", None),
        ("", None),
        ("https://", None),
        ("https:example.org", None),
        ("http:/\\evil.example", None),
        ("https://exa\tmple.org", None),
        ("https://example.org\n", None),
        ("https://example.org:99999/", None),
        ("ftp://example.org/", None),
        ("https://[::1/", None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_sparkline() -> None:
    assert sparkline([0, 0, 0]) == "▁▁▁"
    line = sparkline([0, 1, 2, 4])
    assert len(line) == 4 and line[0] == "▁" and line[-1] == "█"
    assert list(line) == sorted(line)
    assert sparkline([1, 100])[0] != "▁"  # any evidence shows
    assert sparkline([]) == ""


def test_summary_without_movement_and_date_ranges() -> None:
    d = make_digest()
    quiet = dataclasses.replace(
        d,
        week="2020-W53",
        start=week_bounds("2020-W53")[0],
        end=week_bounds("2020-W53")[1],
        ruptures=tuple(r for r in d.ruptures if r.score.status in ("steady", "quiet")),
    )
    text = summary_text(quiet)
    assert text.startswith("Week 2020-W53 (28 December 2020 – 3 January 2021)")
    assert "None of the 15 ruptures moved significantly: 2 steady, 13 quiet." in text


# --------------------------------------------------------------------------- files


def test_write_digest_files_index_and_feed(tmp_path: Path) -> None:
    d = make_digest()
    paths = write_digest(d, tmp_path)
    names = [p.name for p in paths]
    assert names == ["2022-W10.md", "2022-W10.html", "2022-W10.json", "index.html", "feed.atom"]
    assert (tmp_path / "2022-W10.json").read_text(encoding="utf-8") == render_json(d)
    assert (tmp_path / "2022-W10.md").read_text(encoding="utf-8") == render_markdown(d)
    assert (tmp_path / "2022-W10.html").read_text(encoding="utf-8") == render_html(d)
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind
    for p in paths:
        assert p.stat().st_mode & 0o777 == 0o644


def test_index_and_feed_list_digests_newest_first(tmp_path: Path) -> None:
    d = make_digest("<script>alert(1)</script>\x00\x1b\ufffe")
    for week in ("2021-W52", "2022-W01", "2020-W53"):
        start, end = week_bounds(week)
        write_digest(
            dataclasses.replace(d, week=week, start=start, end=end, generated_at=end), tmp_path
        )
    (tmp_path / "2019-W01.json").write_text("{not json", encoding="utf-8")  # damaged
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")  # not a digest
    write_digest(d, tmp_path, base_url="https://reports.example/signals")

    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    page = parse(index)
    assert "<script" not in index.lower()
    for _tag, attrs in page.tags:
        assert not any(k.startswith("on") for k, _ in attrs)
    links = [h for h in page.hrefs() if h.endswith(".html")]
    assert links == [
        "2022-W10.html", "2022-W10.html",
        "2022-W01.html", "2022-W01.html",
        "2021-W52.html", "2021-W52.html",
        "2020-W53.html", "2020-W53.html",
    ]  # fmt: skip
    for href in page.hrefs():
        assert re.fullmatch(r"[0-9]{4}-W[0-9]{2}\.(html|md|json)|feed\.atom", href), href
    assert "2019-W01" in "".join(page.text)  # listed, even though its JSON is damaged
    assert "notes" not in index

    feed = ET.parse(tmp_path / "feed.atom").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed.find("a:id", ns) is not None and feed.find("a:updated", ns) is not None
    entries = feed.findall("a:entry", ns)
    titles = [e.findtext("a:title", namespaces=ns) or "" for e in entries]
    assert [t.split()[3] for t in titles] == [
        "2022-W10", "2022-W01", "2021-W52", "2020-W53", "2019-W01",
    ]  # fmt: skip
    first = entries[0]
    link = first.find("a:link[@type='text/html']", ns)
    assert link is not None and link.get("href") == "https://reports.example/signals/2022-W10.html"
    summary = first.find("a:summary", ns)
    assert summary is not None and summary.get("type") == "text"
    assert "<script>alert(1)</script>" in (summary.text or "")  # text, escaped by XML
    assert len({e.findtext("a:id", namespaces=ns) for e in entries}) == 5


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = make_digest()
    write_digest(d, tmp_path)
    target = tmp_path / "2022-W10.md"
    before = target.read_text(encoding="utf-8")
    inode = target.stat().st_ino

    # a crash between writing the temporary file and renaming it leaves the old file intact
    def boom(_src: str, _dst: str) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    changed = dataclasses.replace(d, articles_analysed=999_999)
    with pytest.raises(OSError, match="disk on fire"):
        write_digest(changed, tmp_path)
    assert target.read_text(encoding="utf-8") == before
    assert not list(tmp_path.glob(".*"))
    monkeypatch.undo()

    # a successful write replaces the file (a new inode), never rewrites it in place
    write_digest(changed, tmp_path)
    assert "999,999 articles analysed" in target.read_text(encoding="utf-8")
    assert target.stat().st_ino != inode


def test_write_refuses_bad_week_and_base_url(tmp_path: Path) -> None:
    d = make_digest()
    with pytest.raises(ValueError):
        write_digest(dataclasses.replace(d, week="../../etc/passwd"), tmp_path)
    with pytest.raises(ValueError):
        write_digest(d, tmp_path, base_url="javascript:alert(1)")
    assert list(tmp_path.iterdir()) == []


def test_digest_to_dict_is_json_ready() -> None:
    o = digest_to_dict(make_digest())
    assert json.loads(json.dumps(o, allow_nan=False)) == o
