"""Content checks for the shipped ``sources.yaml`` (not the loader: see the config tests)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from signals.config import Sources, load_sources, resolve_sources

SOURCES = Path(__file__).resolve().parents[1] / "sources.yaml"
KNOWN_TAGS = {
    "economie",
    "travail",
    "education",
    "numerique",
    "droits-numeriques",
    "donnees",
    "villes",
    "territoires",
    "environnement",
    "energie",
    "sante",
    "industrie",
    "makers",
    "innovation",
    "prospective",
    "societe",
    "public",
}


@pytest.fixture(scope="module")
def cfg() -> Sources:
    return load_sources(SOURCES)


def test_loads_and_has_enough_sources(cfg: Sources) -> None:
    assert len(cfg.sources) >= 40


def test_defaults(cfg: Sources) -> None:
    assert cfg.defaults.interval_minutes == 60
    assert cfg.defaults.fetch_pages is True
    assert cfg.defaults.language == "fr"


def test_ids_and_urls_unique(cfg: Sources) -> None:
    ids = [s.id for s in cfg.sources]
    urls = [s.url for s in cfg.sources]
    assert len(ids) == len(set(ids))
    assert len(urls) == len(set(urls)), "the same feed is listed twice"


def test_every_url_is_https(cfg: Sources) -> None:
    bad = [s.id for s in cfg.sources if not s.url.startswith("https://")]
    assert not bad, f"not https: {bad}"


def test_languages(cfg: Sources) -> None:
    resolved = resolve_sources(cfg)
    for s in resolved:
        assert re.fullmatch(r"[a-z]{2}", s.language), s.id
    langs = [s.language for s in resolved]
    assert set(langs) == {"fr", "en"}
    assert langs.count("fr") >= 30, "French first: most sources are French"
    assert langs.count("en") >= 5, "and some English ones"
    # French sources come first in the file, then English ones.
    first_en = langs.index("en")
    assert all(lang == "en" for lang in langs[first_en:]), (
        "a French source is listed after the English ones"
    )


def test_tags(cfg: Sources) -> None:
    for s in cfg.sources:
        assert s.tags, f"{s.id} has no tags"
        unknown = set(s.tags) - KNOWN_TAGS
        assert not unknown, (
            f"{s.id}: unknown tags {sorted(unknown)} (add them to the header and KNOWN_TAGS)"
        )


def test_every_theme_is_covered(cfg: Sources) -> None:
    """Each family of ruptures has feeds: work, education, digital rights, cities, environment, health…"""
    tags = {t for s in cfg.sources for t in s.tags}
    for needed in (
        "economie",
        "travail",
        "education",
        "numerique",
        "droits-numeriques",
        "donnees",
        "villes",
        "environnement",
        "sante",
        "industrie",
        "makers",
        "prospective",
        "public",
    ):
        assert needed in tags, needed


def test_header_says_urls_are_unchecked() -> None:
    head = SOURCES.read_text(encoding="utf-8")[:1500].lower()
    assert "could be checked" in head or "not checked" in head or "unchecked" in head
