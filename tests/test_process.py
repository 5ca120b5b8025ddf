"""The process stage: tokeniser-only analysis for every article, NER only for evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from signals.analyse import Analyser
from signals.config import load_scenarios
from signals.judge import load_model
from signals.match import compile_ruleset
from signals.process import ensure_entities, process_pending
from signals.store import open_store, repo
from signals.store import schema as t

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2024, 3, 6, 12, tzinfo=UTC)
EVIDENCE = (
    "Les monnaies locales se multiplient au Pays basque. À Bayonne, l'eusko, monnaie locale "
    "complémentaire, circule dans 800 commerces, explique Dante Edme-Sanjurjo. Les monnaies "
    "locales complémentaires sont reconnues par la loi. D'autres villes lancent leur monnaie locale."
)
QUIET = "Orages sur le sud-ouest. De fortes pluies sont attendues ce soir à Toulouse, selon Météo-France."


def test_entities_lazily_for_evidence_articles_only(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    with store.begin() as c:
        repo.ensure_import_source(c, "a", "fr")
        for url, text in (("https://x.org/ev", EVIDENCE), ("https://x.org/quiet", QUIET)):
            repo.add_article(
                c,
                repo.NewArticle(
                    url=url,
                    guid=None,
                    title="",
                    summary="",
                    published_at=NOW,
                    published_raw=NOW,
                    date_flag=None,
                    week="2024-W10",
                    language="fr",
                    state="ready",
                    html=None,
                    text=text,
                ),
                "a",
                NOW,
            )
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(load_scenarios(REPO / "scenarios.yaml"), analyser)
    rep = process_pending(store, ruleset, load_model(), analyser, lambda: NOW)
    assert rep.processed == 2
    with store.engine.connect() as c:
        ids = repo.article_ids_by_url(c, ["https://x.org/ev", "https://x.org/quiet"])
        assert not set(c.execute(select(t.entity_runs.c.article_id)).scalars())  # not in process
        accepted = (
            c.execute(
                select(t.judgements.c.accepted).where(
                    t.judgements.c.article_id == ids["https://x.org/ev"]
                )
            )
            .scalars()
            .all()
        )
        assert any(accepted)
    # at digest time, the evidence it shows gets its entities, once
    ensure_entities(store, analyser, [ids["https://x.org/ev"]])
    with store.engine.connect() as c:
        assert set(c.execute(select(t.entity_runs.c.article_id)).scalars()) == {
            ids["https://x.org/ev"]
        }
        names = {r.text for r in c.execute(select(t.entities)).all()}
        assert "Bayonne" in names, names
    ensure_entities(store, analyser, [ids["https://x.org/ev"], ids["https://x.org/quiet"]])
    with store.engine.connect() as c:
        assert set(c.execute(select(t.entity_runs.c.article_id)).scalars()) == set(ids.values())
        assert len(c.execute(select(t.entity_runs)).all()) == 2  # the first not redone
    store.dispose()


def _page_dated(day: str) -> str:
    body = "Les monnaies locales se multiplient dans les villes moyennes de France. " * 8
    return (
        f'<html lang="fr"><head><meta property="article:published_time" content="{day}"></head>'
        f"<body><article><p>{body}</p></article></body></html>"
    )


def test_page_date_replaces_only_a_missing_or_future_feed_date() -> None:
    from signals.process import article_content

    def ready(flag: str | None, day: str) -> repo.ReadyArticle:
        return repo.ReadyArticle(
            1,
            "https://x.org/a",
            "T",
            "",
            _page_dated(day),
            None,
            None,
            published_at=NOW,
            source_language="fr",
            date_flag=flag,
            first_seen_at=NOW,
        )

    got = article_content(ready("missing", "2024-03-01")).redate
    assert got == repo.Redate(datetime(2024, 3, 1, tzinfo=UTC), "2024-W09", "page")
    assert article_content(ready("future", "2024-03-01")).redate == got
    assert article_content(ready(None, "2024-03-01")).redate is None  # the feed's date stands
    assert (
        article_content(ready("missing", "2031-01-01")).redate is None
    )  # implausible page date too
    assert article_content(ready("missing", "2024-03-01")).language == "fr"
