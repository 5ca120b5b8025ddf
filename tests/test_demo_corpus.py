"""The offline demo corpus (signals/demo_data, package data) and the router that serves it."""

from __future__ import annotations

import calendar
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
import httpx
import pytest
import trafilatura

from signals.config import load_sources, resolve_sources
from signals.demo_corpus import (
    DEMO_MARKERS,
    FEED_WINDOW,
    DemoArticle,
    DemoCorpus,
    SimulatedClock,
    demo_days,
    end_of_day,
    load_corpus,
)
from signals.demo_site import demo_sources_yaml, make_router
from signals.devserver import Response, serve
from signals.errors import ConfigError

WEEKS = [f"2025-W{w:02d}" for w in range(2, 16)]
BASELINE = [f"2025-W{w:02d}" for w in range(7, 15)]  # the 8 weeks before the digest's week
LAST = "2025-W15"
HOST = {"host": "127.0.0.1:8765"}

# Storyline phrases, checked as plain case-insensitive substrings (whitespace normalised).
PP_EVIDENCE = [
    "monnaie locale", "monnaies locales", "monnaie complémentaire", "monnaies complémentaires",
    "économie collaborative", "économie du partage", "fab lab", "fablab", "jardin partagé",
    "jardins partagés", "ateliers partagés", "achats groupés", "achat groupé", "groupement d'achat",
    "troc", "économie de la fonctionnalité", "économie de fonctionnalité", "habitat participatif",
    "sharing economy", "local currency", "local currencies", "collaborative consumption",
    "rachel botsman", "lisa gansky",
]  # fmt: skip
PP_COUNTER = ["ubérisation", "uberisation", "uberization"]
TI_EVIDENCE = [
    "micro-entreprise", "plateformes de livraison", "plateforme de livraison", "livreur", "vtc",
    "travailleurs indépendants", "travailleur indépendant", "statut d'indépendant", "freelance",
    "revenu universel", "revenu de base", "contrats courts", "gig economy", "gig worker",
    "delivery rider", "self-employed", "second job",
]  # fmt: skip
# Terms that scenarios.yaml counts for both post-patrimonial and tous-intermittents
# (pp-emploi-hybride / ti-independants / ti-portage-multi, pp-espaces-partages /
# ti-espaces-intermediaires, pp-collaboratif-local / ti-associatif-ess): one article using them
# would be evidence for the gaining and the fading rupture at once, blurring both stories.
SHARED = [
    "auto-entrepreneur", "autoentrepreneur", "micro-entrepreneur", "microentrepreneur",
    "portage salarial", "multi-employeur", "groupement d'employeurs", "groupements d'employeurs",
    "pluriactivité", "coworking", "tiers-lieu", "consommation collaborative", "accorderie",
    "banque de temps", "système d'échange local", "systèmes d'échange locaux", "jeremy rifkin",
]  # fmt: skip
MY_DATA = ["rgpd", "portabilité des données", "données personnelles"]


def _text(a: DemoArticle) -> str:
    return " ".join(f"{a.title} {a.lede} {a.body}".split()).lower()


def _mentions(a: DemoArticle, phrases: list[str]) -> bool:
    t = _text(a)
    return any(p in t for p in phrases)


@pytest.fixture(scope="module")
def corpus() -> DemoCorpus:
    return load_corpus()


@pytest.fixture(scope="module")
def by_week(corpus: DemoCorpus) -> dict[str, list[DemoArticle]]:
    out: dict[str, list[DemoArticle]] = defaultdict(list)
    for a in corpus.articles:
        out[a.iso_week].append(a)
    return out


def _weekly(
    by_week: dict[str, list[DemoArticle]], pred: Callable[[DemoArticle], bool]
) -> dict[str, int]:
    return {w: sum(1 for a in by_week[w] if pred(a)) for w in WEEKS}


# --------------------------------------------------------------------------- the corpus


def test_corpus_loads(corpus: DemoCorpus) -> None:
    assert len(corpus.sources) == 5
    assert sorted(s.language for s in corpus.sources) == ["en", "fr", "fr", "fr", "fr"]
    assert len(corpus.articles) >= 280
    assert len({a.id for a in corpus.articles}) == len(corpus.articles)
    assert {a.source for a in corpus.articles} == {s.id for s in corpus.sources}
    for a in corpus.articles:
        assert a.published.tzinfo is UTC
        assert a.language == corpus.source(a.source).language
        assert a.title and a.lede and a.tags
    assert list(corpus.articles) == sorted(corpus.articles, key=lambda a: (a.published, a.id))


def test_fourteen_weeks_covered(corpus: DemoCorpus) -> None:
    assert corpus.weeks() == WEEKS
    days = demo_days(corpus)
    assert days[0].isoformat() == "2025-01-06" and days[-1].isoformat() == "2025-04-13"
    assert len(days) == 98


def test_every_article_is_marked_as_demo_data(corpus: DemoCorpus) -> None:
    for a in corpus.articles:
        assert a.paragraphs[-1] == DEMO_MARKERS[a.language], a.id
        assert ("fictif" if a.language == "fr" else "fictional") in a.body.lower()


def test_articles_have_newspaper_shape(corpus: DemoCorpus) -> None:
    for a in corpus.articles:
        assert 3 <= len(a.text_paragraphs) <= 6, a.id
        assert 120 <= a.word_count <= 350, a.id
    titles = [a.title for a in corpus.articles]
    firsts = [a.text_paragraphs[0] for a in corpus.articles]
    assert len(set(titles)) == len(titles)
    assert len(set(firsts)) == len(firsts)


def test_weekly_totals_roughly_constant(by_week: dict[str, list[DemoArticle]]) -> None:
    totals = [len(by_week[w]) for w in WEEKS]
    assert min(totals) >= 20 and max(totals) <= 30
    assert max(totals) - min(totals) <= 3


def test_languages_and_outlets(corpus: DemoCorpus, by_week: dict[str, list[DemoArticle]]) -> None:
    english = [a for a in corpus.articles if a.language == "en"]
    assert {a.source for a in english} == {"channel-post"}
    assert 0.12 <= len(english) / len(corpus.articles) <= 0.18
    for w in WEEKS:  # every outlet publishes every week
        assert len({a.source for a in by_week[w]}) == 5, w


# --------------------------------------------------------------------------- the storyline


def test_post_patrimonial_gains_in_the_last_week(by_week: dict[str, list[DemoArticle]]) -> None:
    weekly = _weekly(by_week, lambda a: _mentions(a, PP_EVIDENCE))
    positive = [
        a for a in by_week[LAST] if _mentions(a, PP_EVIDENCE) and not _mentions(a, PP_COUNTER)
    ]
    assert len(positive) >= 10
    assert len({a.source for a in positive}) >= 4
    baseline = statistics.mean(weekly[w] for w in BASELINE)
    assert 1.0 <= baseline <= 2.5, weekly
    assert all(weekly[w] <= 2 for w in WEEKS[:-1]), weekly  # quiet until W14
    assert weekly["2025-W14"] < weekly[LAST]
    counter = [a for w in ("2025-W14", LAST) for a in by_week[w] if _mentions(a, PP_COUNTER)]
    assert 1 <= len(counter) <= 2
    assert any(_mentions(a, PP_COUNTER) for a in by_week[LAST])  # the closing debate
    # the positive articles of the last week do not also carry the fading rupture's vocabulary
    assert not any(_mentions(a, TI_EVIDENCE) for a in positive)


def test_tous_intermittents_fades_in_the_last_week(by_week: dict[str, list[DemoArticle]]) -> None:
    weekly = _weekly(by_week, lambda a: _mentions(a, TI_EVIDENCE))
    baseline = statistics.mean(weekly[w] for w in BASELINE)
    assert 8.0 <= baseline <= 10.0, weekly
    assert all(weekly[w] >= 8 for w in BASELINE), weekly
    assert weekly[LAST] == 0, weekly


def test_the_two_storylines_share_no_vocabulary(corpus: DemoCorpus) -> None:
    """No article uses a term that the real scenarios count for both storylines."""
    assert [a.id for a in corpus.articles if _mentions(a, SHARED)] == []


def test_other_ruptures_stay_quiet(corpus: DemoCorpus) -> None:
    assert 1 <= sum(_mentions(a, MY_DATA) for a in corpus.articles) <= 3


# --------------------------------------------------------------------------- validation


GOOD_ARTICLE = """\
  - id: 20250107-xx-test
    source: {source}
    published: {published}
    title: "Un titre"
    lede: Un chapô.
    body: |
      {para}

      {para}

      {para}

      {marker}
"""


def _write_corpus(tmp: Path, articles: str, week: str = "2025-W02") -> Path:
    (tmp / "articles").mkdir(parents=True, exist_ok=True)
    (tmp / "outlets.yaml").write_text(
        "outlets:\n  - {id: journal-test, name: Journal test, language: fr}\n", encoding="utf-8"
    )
    (tmp / "articles" / f"{week}.yaml").write_text(
        f"week: {week}\narticles:\n{articles}", encoding="utf-8"
    )
    return tmp


def _article(**kw: str) -> str:
    values = {
        "source": "journal-test",
        "published": "2025-01-07T08:00:00+01:00",
        "para": " ".join(["mot"] * 45),
        "marker": DEMO_MARKERS["fr"],
    }
    values.update(kw)
    return GOOD_ARTICLE.format(**values)


def test_a_minimal_corpus_loads(tmp_path: Path) -> None:
    c = load_corpus(_write_corpus(tmp_path, _article()))
    assert [a.id for a in c.articles] == ["20250107-xx-test"]
    assert c.articles[0].published == datetime(2025, 1, 7, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"marker": "Fin."}, "demo marker"),
        ({"source": "inconnu"}, "unknown outlet 'inconnu'"),
        ({"published": "2025-01-07T08:00:00"}, "no UTC offset"),
        ({"published": "2025-01-14T08:00:00+01:00"}, "not in this file's week 2025-W02"),
        ({"para": "trop court"}, "words; expected 120 to 350"),
    ],
)
def test_validation_errors_are_clear(tmp_path: Path, kw: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_corpus(_write_corpus(tmp_path, _article(**kw)))
    message = str(err.value)
    assert expected in message
    assert "2025-W02.yaml:" in message and "articles[0](20250107-xx-test)" in message


def test_duplicate_ids_and_unknown_keys_are_errors(tmp_path: Path) -> None:
    third = _article().replace("20250107-xx-test", "20250107-xx-other") + "    colour: red\n"
    articles = _article() + _article() + third
    with pytest.raises(ConfigError) as err:
        load_corpus(_write_corpus(tmp_path, articles))
    message = str(err.value)
    assert (
        "2025-W02.yaml:16: (20250107-xx-test).id: duplicate article id (also at 2025-W02.yaml:3)"
        in message
    )
    assert "articles[2](20250107-xx-other).colour: unknown key" in message


# --------------------------------------------------------------------------- the feeds


def _get(router: Callable[[str, dict[str, str]], Response], path: str, **headers: str) -> Response:
    return router(path, {**HOST, **headers})


@pytest.mark.parametrize(
    "now",
    [
        datetime(2025, 1, 8, 21, 0, tzinfo=UTC),
        datetime(2025, 3, 1, 9, 59, tzinfo=UTC),  # one minute before a publication
        datetime(2025, 4, 13, 21, 30, tzinfo=UTC),
    ],
)
def test_feed_holds_exactly_the_window(corpus: DemoCorpus, now: datetime) -> None:
    router = make_router(corpus, lambda: now)
    for source in corpus.sources:
        resp = _get(router, f"/feeds/{source.id}.xml")
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/rss+xml")
        feed = feedparser.parse(resp.body)
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.version == "rss20"
        assert feed.feed.language == source.language
        expected = {
            a.id for a in corpus.articles_of(source.id) if now - FEED_WINDOW < a.published <= now
        }
        got = {e.guid.removeprefix("urn:signals-demo:") for e in feed.entries}
        assert got == expected
        for e in feed.entries:
            art = corpus.article(e.guid.removeprefix("urn:signals-demo:"))
            assert art is not None
            assert e.title == art.title
            assert e.summary == art.lede
            assert e.link == f"http://127.0.0.1:8765/articles/{art.id}.html"
            assert datetime.fromtimestamp(calendar.timegm(e.published_parsed), UTC) == art.published


def test_feed_window_edges(corpus: DemoCorpus) -> None:
    art = next(a for a in corpus.articles if a.source == "lettre-eco")
    clock = SimulatedClock(art.published - timedelta(seconds=1))
    router = make_router(corpus, clock)

    def ids() -> set[str]:
        feed = feedparser.parse(_get(router, "/feeds/lettre-eco.xml").body)
        return {e.guid.removeprefix("urn:signals-demo:") for e in feed.entries}

    assert art.id not in ids()  # not yet published
    clock.set(art.published)
    assert art.id in ids()
    clock.set(art.published + FEED_WINDOW - timedelta(seconds=1))
    assert art.id in ids()
    clock.set(art.published + FEED_WINDOW)
    assert art.id not in ids()  # dropped out of the 3-day window


def test_daily_polling_sees_every_article(corpus: DemoCorpus) -> None:
    """`signals demo` polls once a day (at 23:30 Paris time): the 3-day window leaves no gap."""
    clock = SimulatedClock(end_of_day(demo_days(corpus)[0]))
    router = make_router(corpus, clock)
    seen: set[str] = set()
    for day in demo_days(corpus):
        clock.set(end_of_day(day))
        for source in corpus.sources:
            feed = feedparser.parse(_get(router, f"/feeds/{source.id}.xml").body)
            seen |= {e.guid.removeprefix("urn:signals-demo:") for e in feed.entries}
    assert seen == {a.id for a in corpus.articles}


def test_conditional_get(corpus: DemoCorpus) -> None:
    clock = SimulatedClock(datetime(2025, 2, 12, 20, 0, tzinfo=UTC))
    router = make_router(corpus, clock)
    first = _get(router, "/feeds/depeche-littoral.xml")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.status == 200 and etag.startswith('"')
    assert _get(router, "/feeds/depeche-littoral.xml", **{"if-none-match": etag}).status == 304
    assert (
        _get(router, "/feeds/depeche-littoral.xml", **{"if-none-match": f"W/{etag}"}).status == 304
    )
    assert (
        _get(router, "/feeds/depeche-littoral.xml", **{"if-modified-since": last_modified}).status
        == 304
    )
    older = format_datetime(datetime(2025, 1, 1, tzinfo=UTC), usegmt=True)
    assert _get(router, "/feeds/depeche-littoral.xml", **{"if-modified-since": older}).status == 200
    assert _get(router, "/feeds/depeche-littoral.xml", **{"if-none-match": '"other"'}).status == 200
    not_modified = _get(router, "/feeds/depeche-littoral.xml", **{"if-none-match": etag})
    assert not_modified.body == b"" and not_modified.headers["ETag"] == etag
    # a day later the window has moved: new content, new validators, the old ones no longer match
    clock.set(datetime(2025, 2, 13, 20, 0, tzinfo=UTC))
    later = _get(router, "/feeds/depeche-littoral.xml", **{"if-none-match": etag})
    assert later.status == 200 and later.headers["ETag"] != etag
    assert (
        _get(router, "/feeds/depeche-littoral.xml", **{"if-modified-since": last_modified}).status
        == 200
    )


# --------------------------------------------------------------------------- the article pages


def test_article_pages_are_extracted_by_trafilatura(corpus: DemoCorpus) -> None:
    router = make_router(corpus, lambda: datetime(2025, 4, 14, tzinfo=UTC))
    sample = list(corpus.articles[::23]) + [a for a in corpus.articles if a.language == "en"][:3]
    for art in sample:
        resp = _get(router, art.path)
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/html")
        page = resp.body.decode("utf-8")
        assert page.startswith("<!DOCTYPE html>")
        assert f'<html lang="{art.language}">' in page
        assert "<article>" in page and "<h1>" in page and "<nav" in page and "<footer>" in page
        assert f'<time datetime="{art.published.isoformat()[:10]}' in page
        assert 'class="related"' in page and 'class="author"' in page
        text = trafilatura.extract(page)
        assert text is not None, art.id
        flat = " ".join(text.split())
        assert art.text_paragraphs[0] in flat, art.id
        assert art.text_paragraphs[-1] in flat, art.id
        assert (
            "Site de démonstration" not in flat and "Demo site" not in flat
        )  # boilerplate left out


def test_pages_do_not_leak_the_future(corpus: DemoCorpus) -> None:
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    router = make_router(corpus, lambda: now)
    future = next(a for a in corpus.articles if a.published > now)
    assert _get(router, future.path).status == 404
    past = [a for a in corpus.articles if a.published <= now][-1]
    page = _get(router, past.path).body.decode()
    for other in corpus.articles:
        if other.published > now:
            assert other.path not in page


def test_unknown_paths_are_404(corpus: DemoCorpus) -> None:
    router = make_router(corpus, lambda: datetime(2025, 4, 14, tzinfo=UTC))
    assert _get(router, "/feeds/nope.xml").status == 404
    assert _get(router, "/articles/nope.html").status == 404
    assert _get(router, "/etc/passwd").status == 404
    assert _get(router, "/articles/../outlets.yaml").status == 404
    assert _get(router, "/").status == 200


def test_served_over_http_with_host_based_links(corpus: DemoCorpus) -> None:
    clock = SimulatedClock(end_of_day(demo_days(corpus)[-1]))
    with serve(make_router(corpus, clock)) as srv:
        resp = httpx.get(f"{srv.base_url}/feeds/channel-post.xml")
        assert resp.status_code == 200
        feed = feedparser.parse(resp.content)
        assert feed.entries
        link = feed.entries[0].link
        assert link.startswith(f"{srv.base_url}/articles/")
        page = httpx.get(link)
        assert page.status_code == 200 and 'lang="en"' in page.text
        again = httpx.get(
            f"{srv.base_url}/feeds/channel-post.xml",
            headers={"If-None-Match": resp.headers["etag"]},
        )
        assert again.status_code == 304


# --------------------------------------------------------------------------- sources.yaml


def test_demo_sources_yaml_is_a_valid_sources_file(corpus: DemoCorpus, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(demo_sources_yaml("http://127.0.0.1:8765/", corpus), encoding="utf-8")
    cfg = load_sources(path)
    assert cfg.fetch.allow_networks == ["127.0.0.0/8"]
    assert (
        cfg.defaults.interval_minutes == 60
        and cfg.defaults.fetch_pages
        and cfg.defaults.language == "fr"
    )
    specs = {s.id: s for s in resolve_sources(cfg)}
    assert set(specs) == {s.id for s in corpus.sources}
    assert specs["channel-post"].language == "en"
    assert Counter(s.language for s in specs.values()) == Counter({"fr": 4, "en": 1})
    for s in specs.values():
        assert s.url == f"http://127.0.0.1:8765/feeds/{s.id}.xml"
        assert s.enabled and s.fetch_pages
