"""Languages: one supported list, an article's language decided once (entry → page → source),
German, Spanish and Italian articles matched against their terms through stemmed indexes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from signals.analyse import _STEMMERS, Analyser
from signals.cli import cli
from signals.config import Scenarios
from signals.devserver import Response, serve
from signals.languages import (
    SNOWBALL,
    SUPPORTED_LANGUAGES,
    decide_language,
    index_language,
    language_code,
    supported_language,
)
from signals.match import compile_ruleset
from signals.store import open_store
from signals.store import schema as t

ANALYSER = Analyser(entities=False)
NOW = datetime(2024, 5, 6, 12, tzinfo=UTC)


def test_one_list_drives_stemmers_and_indexes() -> None:
    assert set(SNOWBALL) == set(SUPPORTED_LANGUAGES) == set(_STEMMERS)
    sc = Scenarios.model_validate(
        {
            "ruptures": [
                {
                    "id": "r",
                    "title": "R",
                    "watch": [{"id": "w", "label": "l", "any": ["Grundeinkommen"]}],
                }
            ]
        }
    )
    rs = compile_ruleset(sc, ANALYSER)
    for lang in SUPPORTED_LANGUAGES:  # every supported language has its own stemmed index
        ((_, keys),) = [e for entries in rs.index(lang).by_first.values() for e in entries]
        assert keys == ANALYSER.term_keys("Grundeinkommen", lang)
    assert rs.index("pt") is rs.index("xx")  # unsupported: the unstemmed index


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("de-DE", "de"),
        ("EN_us", "en"),
        (" fr ", "fr"),
        ("deu", "de"),
        ("fre", "fr"),
        ("pt-BR", "pt"),
        ("", None),
        ("x", None),
        ("klingon", None),
        (None, None),
        (42, None),
        ("de, en", "de"),
    ],
)
def test_language_code(value: object, code: str | None) -> None:
    assert language_code(value) == code


def test_decision_order() -> None:
    assert decide_language("de", "es", "it") == "de"
    assert decide_language(None, "es-ES", "it") == "es"
    assert decide_language("pt", "en", "it") == "en"  # unsupported entry: next source of truth
    assert decide_language(None, "nl", "it") == "it"
    assert decide_language(None, None, "pt") == "pt"  # the operator's word is kept
    assert decide_language(None, None, None) == "xx"
    assert supported_language("pt") is None and index_language("pt") == "xx"


ITEMS = [
    {"id": "de", "label": "l", "any": ["bedingungsloses Grundeinkommen", "Vier-Tage-Woche"]},
    {"id": "es", "label": "l", "any": ["renta básica universal"]},
    {"id": "it", "label": "l", "any": ["reddito di cittadinanza"]},
]


@pytest.mark.parametrize(
    ("lang", "text", "item"),
    [
        ("de", "Die Debatte über ein bedingungsloses Grundeinkommen ist zurück.", "de"),
        ("de", "Befürworter des bedingungslosen Grundeinkommens demonstrieren in Berlin.", "de"),
        ("de", "Mehrere Firmen testen die Vier-Tage-Woche.", "de"),
        ("es", "El Gobierno estudia las rentas básicas universales en dos regiones.", "es"),
        ("it", "Il governo ha abolito i redditi di cittadinanza per gli occupabili.", "it"),
    ],
)
def test_german_spanish_italian_articles_match(lang: str, text: str, item: str) -> None:
    sc = Scenarios.model_validate({"ruptures": [{"id": "r", "title": "R", "watch": ITEMS}]})
    rs = compile_ruleset(sc, ANALYSER)
    hits = {h.item_id for h in rs.match(ANALYSER.analyse(text, lang))}
    assert hits == {item}


# --------------------------------------------------------------------------- end to end


def _page(lang_attr: str, text: str, date: str | None = None) -> bytes:
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    body = " ".join([text] * 6)
    return (
        f"<!DOCTYPE html><html{lang_attr}><head><meta charset='utf-8'><title>T</title>{meta}</head>"
        f"<body><article><h1>Titre</h1><p>{body}</p><p>{body}</p></article></body></html>"
    ).encode()


DE = "Die Debatte über ein bedingungsloses Grundeinkommen kehrt in den Bundestag zurück."
ES = "El Gobierno estudia una renta básica universal para todos los ciudadanos del país."
IT = "Il governo discute il reddito di cittadinanza con i sindacati e le regioni del paese."


def _feed(base: str) -> bytes:
    def item(name: str, lang: str = "", date: bool = True) -> str:
        attr = f' xml:lang="{lang}"' if lang else ""
        pub = "<pubDate>Mon, 06 May 2024 08:00:00 GMT</pubDate>" if date else ""
        return (
            f"<item{attr}><title>{name}</title><link>{base}/{name}</link><guid>{name}</guid>"
            f"<description>court</description>{pub}</item>"
        )

    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>F</title>'
        f"<link>{base}/</link>"
        + item("entry-de", "de")
        + item("page-es")
        + item("source-it", date=False)
        + item("unsupported-entry", "pt")
        + "</channel></rss>"
    ).encode()


def test_language_entry_then_page_then_source_end_to_end(tmp_path: Path) -> None:
    """Served on 127.0.0.1 and run through `signals fetch` + `signals process`: the entry's
    xml:lang beats the page's <html lang>, which beats the source's; an unsupported entry
    language falls back to the page. The page's date replaces a missing feed date."""
    pages = {
        "entry-de": _page(' lang="es"', DE),  # the entry says de: the page's es is not used
        "page-es": _page(' lang="es-ES"', ES),
        "source-it": _page("", IT, date="2024-05-02"),  # no lang on the page: the source's it
        "unsupported-entry": _page(' lang="de"', DE),  # entry pt → page de
    }
    feed_body: dict[str, bytes] = {}

    def router(path: str, _headers: dict[str, str]) -> Response:
        name = path.strip("/")
        if name == "feed.xml":
            return Response(200, feed_body["feed"], {"Content-Type": "application/rss+xml"})
        if name in pages:
            return Response(200, pages[name], {"Content-Type": "text/html; charset=utf-8"})
        return Response(404)

    scenarios = tmp_path / "scenarios.yaml"
    scenarios.write_text(
        "ruptures:\n  - id: r\n    title: R\n    watch:\n"
        + "".join(f"      - {{id: {it['id']}, label: l, any: {it['any']!r}}}\n" for it in ITEMS),
        encoding="utf-8",
    )
    db = f"sqlite:///{tmp_path / 'd.db'}"
    with serve(router) as srv:
        feed_body["feed"] = _feed(srv.base_url)
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "defaults: {interval_minutes: 60, fetch_pages: true, language: it}\n"
            'fetch: {allow_networks: ["127.0.0.0/8"], timeout_seconds: 10}\n'
            f"sources:\n  - {{id: s, name: S, url: '{srv.base_url}/feed.xml'}}\n",
            encoding="utf-8",
        )
        args = [
            "--db",
            db,
            "--sources",
            str(sources),
            "--scenarios",
            str(scenarios),
            "--now",
            NOW.isoformat(),
        ]
        for command in ("fetch", "process"):
            res = CliRunner().invoke(cli, [*args, command])
            assert res.exit_code == 0, res.output
    store = open_store(db)
    with store.engine.connect() as c:
        arts = {r.url.rsplit("/", 1)[1]: r for r in c.execute(select(t.articles)).all()}
        matches = {
            (arts_id, item)
            for arts_id, item in c.execute(
                select(t.matches.c.article_id, t.matches.c.item_id)
            ).all()
        }
    store.dispose()
    assert {name: a.language for name, a in arts.items()} == {
        "entry-de": "de",
        "page-es": "es",
        "source-it": "it",
        "unsupported-entry": "de",
    }
    assert all(a.state == "done" for a in arts.values())
    assert matches == {
        (arts["entry-de"].id, "de"),
        (arts["page-es"].id, "es"),
        (arts["source-it"].id, "it"),
        (arts["unsupported-entry"].id, "de"),
    }
    redated = arts["source-it"]
    assert redated.date_flag == "page" and redated.published_raw is None
    assert redated.published_at == datetime(2024, 5, 2, tzinfo=UTC) and redated.week == "2024-W18"
    kept = arts["page-es"]
    assert kept.date_flag is None and kept.published_at == datetime(2024, 5, 6, 8, tzinfo=UTC)
