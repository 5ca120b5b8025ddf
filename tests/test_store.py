"""The store on SQLite and PostgreSQL: one article per canonical URL, sources linked, batches
processed atomically, history re-matched after a YAML edit, export, and the job lock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from signals.analyse import KEYS_VERSION, Analyser
from signals.config import Scenarios
from signals.errors import LockedError
from signals.judge import accept_all
from signals.lock import job_lock
from signals.match import compile_ruleset
from signals.models import Hit, ItemKind, Judgement, Polarity
from signals.process import process_pending
from signals.rematch import rematch
from signals.store import open_store, repo
from signals.store import schema as t

JUDGE = accept_all()
NOW = datetime(2024, 3, 6, 12, tzinfo=UTC)
ANALYSER = Analyser(entities=False)


def scenarios(terms: list[str]) -> Scenarios:
    return Scenarios.model_validate(
        {
            "ruptures": [
                {
                    "id": "post-patrimonial",
                    "title": "P",
                    "watch": [{"id": "w-monnaie", "label": "monnaies", "any": terms}],
                    "doubts": [{"id": "d-uber", "label": "doute", "any": ["ubérisation"]}],
                }
            ]
        }
    )


def article(url: str, text: str, week: str = "2024-W10") -> repo.NewArticle:
    return repo.NewArticle(
        url=url,
        guid=None,
        title="Titre",
        summary="",
        published_at=NOW,
        published_raw=NOW,
        date_flag=None,
        week=week,
        language="fr",
        state="ready",
        text=text,
    )


def test_one_article_two_sources(db_url: str) -> None:
    store = open_store(db_url)
    with store.begin() as c:
        repo.ensure_import_source(c, "a", "fr")
        repo.ensure_import_source(c, "b", "fr")
        id1, new1 = repo.add_article(c, article("https://x.org/1", "t"), "a", NOW)
        id2, new2 = repo.add_article(c, article("https://x.org/1", "t"), "b", NOW)
        id3, new3 = repo.add_article(c, article("https://x.org/1", "t"), "b", NOW)
    assert id1 == id2 == id3
    assert (new1, new2, new3) == (True, False, False)
    with store.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(t.articles)).scalar_one() == 1
        assert c.execute(select(func.count()).select_from(t.article_sources)).scalar_one() == 2
    store.dispose()


def test_process_match_rematch_export(db_url: str) -> None:
    store = open_store(db_url)
    with store.begin() as c:
        repo.ensure_import_source(c, "a", "fr")
        repo.add_article(
            c, article("https://x.org/1", "La monnaie locale arrive en ville."), "a", NOW
        )
        repo.add_article(
            c, article("https://x.org/2", "Le troc revient. L'ubérisation menace."), "a", NOW
        )
        repo.add_article(
            c, article("https://y.org/copy", "La monnaie locale arrive en ville."), "a", NOW
        )
    rs = compile_ruleset(scenarios(["monnaie locale"]), ANALYSER)
    rep = process_pending(store, rs, JUDGE, ANALYSER, lambda: NOW)
    assert (rep.processed, rep.duplicates) == (2, 1)
    with store.engine.connect() as c:
        got = sorted((r.item_id, r.kind) for r in c.execute(select(t.matches)).all())
    assert got == [("d-uber", "doubt"), ("w-monnaie", "watch")]
    # an analyst adds a term: history is re-scored from stored keys, without re-analysing
    rs2 = compile_ruleset(scenarios(["monnaie locale", "troc"]), ANALYSER)
    assert rematch(store, rs2, JUDGE, ANALYSER) == 1  # the one article holding the new term
    assert rematch(store, rs2, JUDGE, ANALYSER) == 0  # nothing changed since
    with store.engine.connect() as c:
        rows = c.execute(select(t.matches.c.item_id, t.matches.c.ruleset_version)).all()
        assert sorted(r.item_id for r in rows) == ["d-uber", "w-monnaie", "w-monnaie"]
        assert {r.ruleset_version for r in rows} == {rs2.version}
        ev, srcs = repo.rupture_counts(c, ["2024-W10"], Polarity.EVIDENCE)
        assert ev == {"post-patrimonial": {"2024-W10": 2}}
        assert srcs == {"post-patrimonial": {"2024-W10": 1}}
        assert repo.analysed_per_week(c, ["2024-W10"]) == {"2024-W10": 2}
        rows2 = list(repo.export_rows(c, NOW - timedelta(days=1), NOW + timedelta(days=1)))
    assert {r["item_id"] for r in rows2} == {"w-monnaie", "d-uber"}
    assert all(r["published"].startswith("2024-03-06") for r in rows2)
    store.dispose()


def test_crashed_batch_is_redone(db_url: str) -> None:
    store = open_store(db_url)
    with store.begin() as c:
        repo.ensure_import_source(c, "a", "fr")
        repo.add_article(c, article("https://x.org/1", "La monnaie locale."), "a", NOW)

    class Boom(Exception):
        pass

    class Exploding(Analyser):
        def analyse_many(self, *_args, **_kwargs):  # type: ignore[no-untyped-def]
            raise Boom

    rs = compile_ruleset(scenarios(["monnaie locale"]), ANALYSER)
    with pytest.raises(Boom):
        process_pending(store, rs, JUDGE, Exploding(entities=False), lambda: NOW)
    with store.engine.connect() as c:
        assert repo.count_articles(c, state="ready") == 1
    assert process_pending(store, rs, JUDGE, ANALYSER, lambda: NOW).processed == 1
    store.dispose()


def test_datetimes_come_back_aware(db_url: str) -> None:
    store = open_store(db_url)
    with store.begin() as c:
        repo.ensure_import_source(c, "a", "fr")
        repo.add_article(c, article("https://x.org/1", "x"), "a", NOW)
    with store.engine.connect() as c:
        row = c.execute(select(t.articles.c.published_at, t.articles.c.first_seen_at)).one()
    assert row.published_at == NOW and row.published_at.tzinfo is not None
    store.dispose()


def test_lock_excludes_second_run_and_reclaims_dead(db_url: str) -> None:
    store = open_store(db_url)
    with (
        job_lock(store, "pipeline"),
        pytest.raises(LockedError, match="running"),
        job_lock(store, "pipeline"),
    ):
        pass
    # a lock left by a process that no longer exists is reclaimed
    with store.begin() as c:
        c.execute(
            t.locks.insert().values(
                name="pipeline",
                owner="x",
                host=__import__("socket").gethostname()[:200],
                pid=2**22 + 12345,
                acquired_at=NOW,
                heartbeat_at=datetime.now(UTC),
            )
        )
    with job_lock(store, "pipeline"):
        pass
    store.dispose()


def test_saving_again_replaces_keys_hits_and_judgements(db_url: str) -> None:
    """Only articles analysed before have something to replace (the deletes are skipped for the
    others); an article saved again keeps nothing of its first analysis."""
    store = open_store(db_url)
    with store.begin() as c:
        repo.ensure_import_source(c, "a", "fr")
        first, _ = repo.add_article(c, article("https://x.org/a", "La monnaie locale."), "a", NOW)
        second, _ = repo.add_article(c, article("https://x.org/b", "Le troc revient."), "a", NOW)

    def saved(aid: int, text: str, item: str) -> repo.Processed:
        doc = ANALYSER.analyse(text, "fr")
        hit = Hit("post-patrimonial", item, ItemKind.WATCH, text)
        judged = Judgement("post-patrimonial", Polarity.EVIDENCE, 0.9, True, (item,))
        return repo.Processed(aid, text, text, "fr", doc, [hit], [judged], None)

    with store.begin() as c:
        repo.save_processed_many(
            c, [saved(first, "La monnaie locale.", "w-a")], "v1", KEYS_VERSION, NOW
        )
    with store.begin() as c:  # the first again, beside one never analysed
        repo.save_processed_many(
            c,
            [saved(first, "Le vélo partagé.", "w-b"), saved(second, "Le troc revient.", "w-c")],
            "v1",
            KEYS_VERSION,
            NOW,
        )
    with store.engine.connect() as c:
        hits = sorted((r.article_id, r.item_id) for r in c.execute(select(t.matches)))
        judged = sorted((r.article_id, r.reasons[0]) for r in c.execute(select(t.judgements)))
        keys = {
            aid: {
                r.key
                for r in c.execute(
                    select(t.analysis_keys).where(t.analysis_keys.c.article_id == aid)
                )
            }
            for aid in (first, second)
        }
        analyses = c.execute(select(func.count()).select_from(t.analyses)).scalar()
    assert hits == [(first, "w-b"), (second, "w-c")]
    assert judged == [(first, "w-b"), (second, "w-c")]
    assert analyses == 2
    assert not keys[first] & set(ANALYSER.analyse("La monnaie locale.", "fr").sentences[0].keys)
    assert keys[second]
    store.dispose()
