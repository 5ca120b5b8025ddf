"""Extraction: the article's main text (not comments, menus or footers), the page's declared
language, and its date only when asked for; never raises on bad HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signals.extract import compose_text, content_hash, extract, page_language

BODY = "Les monnaies locales se multiplient dans les villes moyennes de France. " * 8
PAGE = (
    '<!DOCTYPE html><html lang="fr-FR"><head><title>Titre</title>'
    '<meta property="article:published_time" content="2024-03-02T10:00:00+01:00"></head>'
    f"<body><nav>Accueil Menu</nav><article><h1>Titre</h1><p>{BODY}</p></article>"
    '<div class="comments" id="comments"><h3>Commentaires</h3>'
    "<p>Je ne suis pas d'accord du tout avec cet article, vraiment pas.</p></div>"
    "<footer>Mentions légales</footer></body></html>"
)


def test_main_text_language_and_no_comments() -> None:
    e = extract(PAGE, "https://example.org/a")
    assert "Les monnaies locales se multiplient" in e.text
    assert "Commentaires" not in e.text and "accord" not in e.text
    assert "Mentions" not in e.text and "Accueil" not in e.text
    assert e.language == "fr"
    assert e.published is None and e.title is None  # no metadata pass unless a date is wanted


def test_date_only_with_date() -> None:
    e = extract(PAGE, "https://example.org/a", with_date=True)
    assert e.published == datetime(2024, 3, 2, tzinfo=UTC)
    assert e.title == "Titre"
    assert "Les monnaies locales" in e.text


@pytest.mark.parametrize(
    "html", ["", "<<<>>", "<html><body></body></html>", "\x00\x00", "<p>court</p>"]
)
def test_bad_or_empty_html_gives_empty_text(html: str) -> None:
    assert extract(html, None).text == ""


@pytest.mark.parametrize(
    ("head", "lang"),
    [
        ('<html class="x" lang="de-DE">', "de"),
        ("<html xml:lang='es'>", "es"),
        ("<html lang=it>", "it"),
        ('<html><head><meta http-equiv="Content-Language" content="en-GB">', "en"),
        ("<html><head><meta content='it_IT' property='og:locale'>", "it"),
        ('<html lang=""><meta property="og:locale" content="fr_FR">', "fr"),
        ('<html lang="klingon">', None),
        ("<html><head><title>lang=de</title>", None),
        ("", None),
    ],
)
def test_page_language(head: str, lang: str | None) -> None:
    assert page_language(head + "<body><p>x</p></body></html>") == lang


def test_page_language_reads_only_the_head() -> None:
    assert (
        page_language("<html>" + " " * 40_000 + '<meta http-equiv="content-language" content="de">')
        is None
    )


def test_compose_text_and_hash() -> None:
    assert compose_text("Titre", "Corps.") == "Titre.\nCorps."
    assert compose_text("Titre", "Titre\nCorps.") == "Titre\nCorps."
    assert compose_text("", "Corps.") == "Corps." and compose_text("Titre", "") == "Titre"
    assert content_hash("Une  Copie\n") == content_hash("une copie") != content_hash("une autre")
