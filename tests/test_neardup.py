"""Near-duplicates: the shingle/MinHash functions, and the collapse in `process` (SQLite and
PostgreSQL): a retitled wire copy with one more sentence is collapsed into the original and its
source credited; a different story on the same topic, a copy outside the window and a short
brief are not."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select, update

from signals.analyse import Analyser
from signals.config import Scenarios, Sources
from signals.judge import accept_all
from signals.match import Ruleset, compile_ruleset
from signals.models import AnalysedDoc
from signals.neardup import DEFAULT_PARAMS, NearDupParams, band_keys, jaccard, shingles
from signals.process import process_pending
from signals.store import Store, open_store, repo
from signals.store import schema as t

NOW = datetime(2024, 3, 6, 12, tzinfo=UTC)
ANALYSER = Analyser(entities=False)
STORY = (
    "Le conseil municipal de Villeneuve a voté lundi soir la création d'une monnaie locale, "
    "le sou, qui circulera dès le printemps dans les commerces du centre-ville. Les habitants "
    "pourront échanger leurs euros contre des sous dans trois bureaux de change associatifs, "
    "et une centaine de commerçants ont déjà signé la charte. Le maire espère que la monnaie "
    "fera revenir les clients vers les petites boutiques face aux grandes surfaces."
)
OTHER = (
    "Le conseil municipal de Villeneuve a refusé lundi soir le projet de monnaie locale porté "
    "par une association de commerçants, jugeant le coût de gestion trop élevé. Les élus "
    "d'opposition dénoncent une occasion manquée pour le centre-ville, où les boutiques ferment "
    "les unes après les autres. L'association promet de revenir avec un nouveau dossier."
)


def test_shingles_ignore_case_and_punctuation() -> None:
    assert shingles("Un, deux TROIS quatre cinq six", 5) == shingles(
        "un deux trois quatre cinq six!", 5
    )
    assert len(shingles("un deux trois quatre cinq six", 5)) == 2
    assert shingles("trop court", 5) == frozenset()


def test_jaccard_and_bands_separate_copies_from_other_stories() -> None:
    a = shingles(STORY, 5)
    copy = shingles("AFP. " + STORY + " Le dispositif sera évalué dans un an.", 5)
    other = shingles(OTHER, 5)
    assert jaccard(a, copy) >= DEFAULT_PARAMS.threshold
    assert jaccard(a, other) < 0.2
    keys_a, keys_copy = set(band_keys(a, DEFAULT_PARAMS)), set(band_keys(copy, DEFAULT_PARAMS))
    assert len(keys_a) == DEFAULT_PARAMS.bands
    assert keys_a & keys_copy  # candidates share at least one bucket
    assert band_keys(a, DEFAULT_PARAMS) == band_keys(a, DEFAULT_PARAMS)  # stable (seeded)
    assert all(-(2**63) <= bucket < 2**63 for _, bucket in keys_a)  # fits a BIGINT
    assert band_keys(shingles("une brève de dix mots seulement pour voir", 5), DEFAULT_PARAMS) == []


def test_dedup_settings_map_to_params() -> None:
    cfg = Sources.model_validate({"dedup": {"threshold": 0.9, "window_days": 2}})
    params = cfg.dedup.params()
    assert params is not None and (params.threshold, params.window_days) == (0.9, 2)
    assert Sources.model_validate({"dedup": {"enabled": False}}).dedup.params() is None


def _article(url: str, title: str, text: str, when: datetime) -> repo.NewArticle:
    return repo.NewArticle(
        url=url,
        guid=None,
        title=title,
        summary="",
        published_at=when,
        published_raw=when,
        date_flag=None,
        week="2024-W10",
        language="fr",
        state="ready",
        text=text,
    )


def test_process_collapses_near_copies_and_credits_their_sources(db_url: str) -> None:
    store = open_store(db_url)
    with store.begin() as c:
        for src in ("wire", "paper", "radio", "late"):
            repo.ensure_import_source(c, src, "fr")
        repo.add_article(
            c,
            _article("https://wire.example/1", "Villeneuve lance le sou", STORY, NOW),
            "wire",
            NOW,
        )
        repo.add_article(
            c,
            _article(
                "https://paper.example/a",
                "Une monnaie locale à Villeneuve",
                "Par notre correspondant. " + STORY + " Le dispositif sera évalué dans un an.",
                NOW + timedelta(hours=3),
            ),
            "paper",
            NOW,
        )
        repo.add_article(
            c,
            _article(
                "https://radio.example/x",
                "Villeneuve dit non au sou",
                OTHER,
                NOW + timedelta(hours=5),
            ),
            "radio",
            NOW,
        )
        repo.add_article(
            c,
            _article(
                "https://late.example/y", "Le sou, un an après", STORY, NOW + timedelta(days=30)
            ),
            "late",
            NOW,
        )
    scen = Scenarios.model_validate(
        {
            "ruptures": [
                {
                    "id": "post-patrimonial",
                    "title": "P",
                    "watch": [{"id": "w-monnaie", "label": "monnaies", "any": ["monnaie locale"]}],
                }
            ]
        }
    )
    rs = compile_ruleset(scen, ANALYSER)
    params = NearDupParams(window_days=7)
    rep = process_pending(
        store, rs, accept_all(), ANALYSER, lambda: NOW, batch_size=2, neardup=params
    )
    assert (rep.processed, rep.near_duplicates, rep.duplicates) == (3, 1, 0)
    with store.engine.connect() as c:
        rows = {
            r.url: r
            for r in c.execute(select(t.articles.c.id, t.articles.c.url, t.articles.c.dup_of))
        }
        original = rows["https://wire.example/1"].id
        assert rows["https://paper.example/a"].dup_of == original
        assert rows["https://radio.example/x"].dup_of is None  # another story on the same topic
        assert rows["https://late.example/y"].dup_of is None  # outside the window
        credited = {
            r.source_id
            for r in c.execute(
                select(t.article_sources.c.source_id).where(
                    t.article_sources.c.article_id == original
                )
            )
        }
        assert credited == {"wire", "paper"}
    store.dispose()


def test_process_without_neardup_keeps_every_copy(db_url: str) -> None:
    store = open_store(db_url)
    with store.begin() as c:
        repo.ensure_import_source(c, "a", "fr")
        repo.add_article(c, _article("https://a.example/1", "Un", STORY, NOW), "a", NOW)
        repo.add_article(c, _article("https://a.example/2", "Deux", STORY + " Fin.", NOW), "a", NOW)
    rs = compile_ruleset(
        Scenarios.model_validate(
            {
                "ruptures": [
                    {
                        "id": "post-patrimonial",
                        "title": "P",
                        "watch": [{"id": "w", "label": "w", "any": ["monnaie locale"]}],
                    }
                ]
            }
        ),
        ANALYSER,
    )
    rep = process_pending(store, rs, accept_all(), ANALYSER, lambda: NOW, neardup=None)
    assert (rep.processed, rep.near_duplicates) == (2, 0)
    store.dispose()


def _ruleset() -> Ruleset:
    return compile_ruleset(
        Scenarios.model_validate(
            {
                "ruptures": [
                    {
                        "id": "post-patrimonial",
                        "title": "P",
                        "watch": [{"id": "w", "label": "w", "any": ["monnaie locale"]}],
                    }
                ]
            }
        ),
        ANALYSER,
    )


def _copy_then_original(db_url: str) -> Store:
    """A near copy (claimed first: lower id) and its original."""
    store = open_store(db_url)
    with store.begin() as c:
        repo.ensure_import_source(c, "paper", "fr")
        repo.ensure_import_source(c, "wire", "fr")
        copy = "Par notre correspondant. " + STORY + " Le dispositif sera évalué dans un an."
        repo.add_article(c, _article("https://paper.example/a", "Le sou", copy, NOW), "paper", NOW)
        repo.add_article(c, _article("https://wire.example/1", "Le sou", STORY, NOW), "wire", NOW)
    return store


class _OtherWorkerMeanwhile(Analyser):
    """Runs ``meanwhile`` once, during the first analysis (after the first duplicate check)."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        super().__init__(entities=False)
        self._meanwhile: Callable[[], None] | None = meanwhile

    def analyse_many(
        self, items: Iterable[tuple[str, str | None]], batch_size: int = 32
    ) -> Iterator[AnalysedDoc]:
        if self._meanwhile is not None:
            self._meanwhile, run = None, self._meanwhile
            run()
        return super().analyse_many(items, batch_size)


def test_an_original_another_worker_stores_during_the_analysis_still_collapses_the_copy(
    db_url: str,
) -> None:
    """The copy is claimed and checked first (no original yet); while it is analysed another
    worker stores the original: the write transaction sees that originals were stored since
    its check, checks again, and collapses the copy."""
    store, rs = _copy_then_original(db_url), _ruleset()
    other = open_store(db_url)

    def other_worker() -> None:
        rep = process_pending(other, rs, accept_all(), ANALYSER, lambda: NOW, limit=1)
        assert rep.processed == 1  # the original: the copy is ours

    analyser = _OtherWorkerMeanwhile(other_worker)
    rep = process_pending(store, rs, accept_all(), analyser, lambda: NOW, batch_size=1, limit=1)
    assert (rep.processed, rep.near_duplicates) == (0, 1)
    with store.engine.connect() as c:
        dup_of = dict(c.execute(select(t.articles.c.url, t.articles.c.dup_of)).all())
        ids = dict(c.execute(select(t.articles.c.url, t.articles.c.id)).all())
    assert dup_of == {
        "https://paper.example/a": ids["https://wire.example/1"],
        "https://wire.example/1": None,
    }
    other.dispose()
    store.dispose()


def test_the_write_does_not_check_again_when_no_original_was_stored_meanwhile(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker alone: each batch's duplicate queries run once, before the NLP, and the
    results are those of checking again (the copy of the first batch's original is caught)."""
    store, rs = _copy_then_original(db_url), _ruleset()
    calls: list[int] = []
    find = repo.find_duplicates

    def counting(
        conn: Connection, hashes: Sequence[str], exclude: Sequence[int] = ()
    ) -> dict[str, int]:
        calls.append(len(hashes))
        return find(conn, hashes, exclude)

    monkeypatch.setattr(repo, "find_duplicates", counting)
    with store.begin() as c:  # the original first this time: the copy is the later article
        c.execute(
            update(t.articles)
            .where(t.articles.c.url == "https://paper.example/a")
            .values(state="page")
        )
    rep = process_pending(store, rs, accept_all(), ANALYSER, lambda: NOW, batch_size=1)
    assert rep.processed == 1 and calls == [1]
    with store.begin() as c:
        c.execute(update(t.articles).where(t.articles.c.state == "page").values(state="ready"))
    rep = process_pending(store, rs, accept_all(), ANALYSER, lambda: NOW, batch_size=1)
    assert (rep.processed, rep.near_duplicates) == (0, 1) and calls == [1, 1]
    store.dispose()
