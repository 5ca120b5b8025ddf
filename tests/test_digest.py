"""`signals.digest` as a unit: ``build_digest`` on a small store (imported and processed once
per module) gives the week's counts, statuses and article lists; ``last_complete_week``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, update

from signals.cli import cli
from signals.digest import TREND_WEEKS, build_digest, last_complete_week
from signals.judge import accept_all
from signals.match import Ruleset
from signals.pipeline import Context
from signals.report.model import NEAR_LINE_MIN_SCORE, Digest
from signals.score import week_bounds
from signals.settings import Settings
from signals.store import schema as t

from .conftest import verdict_row

NOW = datetime(2024, 5, 14, 12, tzinfo=UTC)
WEEK = "2024-W19"  # 6-12 May 2024
DAY = datetime(2024, 5, 7, 8, tzinfo=UTC)

SCENARIOS = """\
ruptures:
  - id: plateformes
    title: Les plateformes
    summary: Le travail par plateformes.
    watch:
      - {id: w-uber, label: "l'ubérisation du travail", any: ["ubérisation"]}
      - {id: w-money, label: "les monnaies locales", any: ["monnaie locale"]}
    doubts:
      - {id: d-troc, label: "le retour du troc", any: ["troc"]}
    announcers:
      - {id: a-coop, name: "La Coop des Livreurs", aliases: ["Coop des Livreurs"]}
  - id: calme
    title: Rien
    watch:
      - {id: w-jamais, label: jamais, any: ["zyxwvut"]}
"""
CITIES = ["Nantes", "Lyon", "Lille", "Brest"]


def _line(i: str, title: str, text: str, when: datetime, source: str) -> str:
    return json.dumps(
        {
            "url": f"https://ex.org/{i}",
            "title": title,
            "text": text,
            "published": when.isoformat(),
            "source": source,
        },
        ensure_ascii=False,
    )


def _corpus() -> list[str]:
    lines = []
    for i, city in enumerate(CITIES):
        text = f"À {city}, l'ubérisation des chauffeurs inquiète depuis {i + 2} jours."
        if i < 2:
            text += f" La monnaie locale de {city} les soutient."
        if i == 0:
            text += " Le troc revient aussi. La Coop des Livreurs le dit."
        lines.append(
            _line(
                f"e{i}",
                f"Reportage {i + 1} à {city}",
                text,
                DAY + timedelta(hours=i),
                "Journal A" if i % 2 == 0 else "Journal B",
            )
        )
    for i in range(3):  # analysed, no match
        lines.append(
            _line(
                f"n{i}",
                f"Météo {i}",
                "Du soleil et quelques nuages.",
                DAY + timedelta(hours=9 + i),
                "Journal C",
            )
        )
    for w in range(1, 11):  # quiet weeks before: the history the baseline is made of
        lines.append(
            _line(
                f"q{w}", f"Semaine {w}", "Il pleut un peu.", DAY - timedelta(weeks=w), "Journal A"
            )
        )
    lines.append(
        _line(
            "next",
            "La semaine suivante",
            "L'ubérisation, encore.",
            DAY + timedelta(weeks=1),
            "Journal A",
        )
    )
    return lines


@dataclass
class Built:
    ctx: Context
    ruleset: Ruleset
    digest: Digest
    entity_calls: list[list[int]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    tmp = tmp_path_factory.mktemp("digest")
    (tmp / "scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    (tmp / "judge.json").write_text(json.dumps(accept_all().to_json()), encoding="utf-8")
    (tmp / "c.jsonl").write_text("\n".join(_corpus()) + "\n", encoding="utf-8")
    db = f"sqlite:///{tmp / 'd.db'}"
    base = [
        "--db",
        db,
        "--judge",
        str(tmp / "judge.json"),
        "--scenarios",
        str(tmp / "scenarios.yaml"),
        "--reports",
        str(tmp / "r"),
        "--now",
        NOW.isoformat(),
        "-q",
    ]
    for args in (["import", str(tmp / "c.jsonl")], ["process"]):
        res = CliRunner().invoke(cli, [*base, *args])
        assert res.exit_code == 0, res.output
    ctx = Context.open(
        Settings(
            db_url=db,
            scenarios_path=tmp / "scenarios.yaml",
            judge_path=tmp / "judge.json",
            cache_dir=tmp / "cache",
            now=NOW,
        ),
        need_sources=False,
        create=False,
    )
    calls: list[list[int]] = []
    ruleset = ctx.ruleset()
    digest, _ = build_digest(ctx.store, ruleset, WEEK, NOW, entities=calls.append)
    yield Built(ctx, ruleset, digest, calls)
    ctx.close()


def _rupture(d: Digest, rid: str):  # type: ignore[no-untyped-def]
    return next(r for r in d.ruptures if r.id == rid)


def test_the_week_counts(built: Built) -> None:
    d = built.digest
    assert (d.week, d.generated_at, d.ruleset_version) == (WEEK, NOW, built.ruleset.version)
    assert (d.start, d.end) == week_bounds(WEEK)
    assert d.articles_analysed == len(CITIES) + 3  # the quiet weeks and the next week are not in it
    assert d.sources_active == 3
    assert [r.id for r in d.ruptures] == ["plateformes", "calme"]  # every rupture, file order


def test_scores_and_statuses(built: Built) -> None:
    p = _rupture(built.digest, "plateformes")
    assert (p.score.evidence, p.score.sources, p.score.doubts) == (len(CITIES), 2, 1)
    assert p.score.baseline_evidence == 0 and p.score.status == "new"
    quiet = _rupture(built.digest, "calme")
    assert (quiet.score.evidence, quiet.score.doubts, quiet.score.status) == (0, 0, "quiet")
    assert quiet.articles == () and quiet.counter_evidence == () and quiet.items == ()
    assert len(p.trend) == len(quiet.trend) == TREND_WEEKS


def test_the_article_lists(built: Built) -> None:
    p = _rupture(built.digest, "plateformes")
    assert sorted(a.title for a in p.articles) == [
        f"Reportage {i + 1} à {c}" for i, c in enumerate(CITIES)
    ]
    scores = [a.score for a in p.articles]
    assert scores == sorted(scores, reverse=True)
    first = next(a for a in p.articles if a.url == "https://ex.org/e0")
    assert set(first.item_ids) == {"w-uber", "w-money"} and first.source == "Journal A"
    assert set(first.item_labels) == {"l'ubérisation du travail", "les monnaies locales"}
    assert {"ubérisation", "monnaie locale"} <= set(first.terms)
    assert [a.url for a in p.counter_evidence] == ["https://ex.org/e0"]
    assert p.counter_evidence[0].item_ids == ("d-troc",)
    # activity over evidence and counter-evidence articles, busiest first
    assert [(i.item_id, i.articles) for i in p.items] == [
        ("w-uber", 4),
        ("w-money", 2),
        ("d-troc", 1),
    ]
    assert p.announcers == ("La Coop des Livreurs",)


def test_entities_are_asked_for_the_evidence_articles_first(built: Built) -> None:
    assert len(built.entity_calls) == 1
    ids = built.entity_calls[0]
    assert len(ids) == len(CITIES) and ids == sorted(ids)


def _copy_of(built: Built, tmp_path: Path) -> Context:
    """A context on a copy of the module's store, for a test that changes it."""
    import shutil

    src = built.ctx.store.engine.url.database
    assert src is not None
    copy = tmp_path / "copy.db"
    shutil.copyfile(src, copy)
    return Context.open(
        Settings(
            db_url=f"sqlite:///{copy}",
            scenarios_path=built.ctx.settings.scenarios_path,
            cache_dir=tmp_path / "cache",
            now=NOW,
        ),
        need_sources=False,
        create=False,
    )


def _article_ids(c: Connection) -> dict[str, int]:
    rows = c.execute(t.articles.select().with_only_columns(t.articles.c.url, t.articles.c.id))
    return {str(url): int(i) for url, i in rows.all()}


def test_a_collapsed_copy_is_not_counted_or_listed(built: Built, tmp_path: Path) -> None:
    ctx = _copy_of(built, tmp_path)
    try:
        with ctx.store.begin() as c:
            ids = _article_ids(c)
            c.execute(
                update(t.articles)
                .where(t.articles.c.url == "https://ex.org/e3")
                .values(dup_of=ids["https://ex.org/e1"])
            )
        d, _ = build_digest(ctx.store, built.ruleset, WEEK, NOW)
    finally:
        ctx.close()
    p = _rupture(d, "plateformes")
    assert p.score.evidence == len(CITIES) - 1
    assert (
        "https://ex.org/e3" not in {a.url for a in p.articles}
        and len(p.articles) == len(CITIES) - 1
    )


def test_a_week_without_articles_is_all_zero(built: Built) -> None:
    d, scores = build_digest(built.ctx.store, built.ruleset, "2023-W01", NOW)
    assert (d.articles_analysed, d.sources_active) == (0, 0)
    assert [s.evidence for s in scores] == [0, 0]
    assert all(r.articles == () for r in d.ruptures)


@pytest.mark.parametrize(
    ("now", "week"),
    [
        (NOW, "2024-W19"),  # a Tuesday: the week before
        (datetime(2024, 5, 13, 0, 0, tzinfo=UTC), "2024-W19"),  # Monday 00:00: the week just ended
        (
            datetime(2024, 5, 12, 23, 59, tzinfo=UTC),
            "2024-W18",
        ),  # Sunday night: this week is not over
        (datetime(2021, 1, 4, 9, tzinfo=UTC), "2020-W53"),  # across a 53-week year
        (datetime(2025, 1, 1, 9, tzinfo=UTC), "2024-W52"),  # 1 Jan 2025 is in 2025-W01
    ],
)
def test_last_complete_week(now: datetime, week: str) -> None:
    assert last_complete_week(now) == week


def test_items_sharing_a_label_are_one_line_counting_distinct_articles() -> None:
    from signals.analyse import Analyser
    from signals.config import Scenarios
    from signals.digest import _item_activity
    from signals.match import compile_ruleset
    from signals.store.repo import MatchedArticle

    label = "l'ubérisation du travail"
    sc = Scenarios.model_validate(
        {
            "ruptures": [
                {
                    "id": "r",
                    "title": "R",
                    "watch": [
                        {"id": "w-a", "label": label, "any": ["ubérisation"]},
                        {"id": "w-b", "label": label, "any": ["plateforme"]},
                        {"id": "w-c", "label": "les monnaies locales", "any": ["monnaie locale"]},
                    ],
                    "doubts": [{"id": "d-a", "label": label, "any": ["retour au salariat"]}],
                }
            ]
        }
    )
    ruleset = compile_ruleset(sc, Analyser(entities=False))

    def art(n: int, *items: str) -> MatchedArticle:
        return MatchedArticle(n, f"u{n}", "t", DAY, "fr", ("s",), items, (), (), 1.0)

    items = _item_activity(
        [art(1, "w-a", "w-b"), art(2, "w-b"), art(3, "w-c"), art(4, "d-a", "gone")], ruleset
    )
    # w-a and w-b: one line, 2 articles (not 3); the doubt of the same label stays apart
    assert [(i.item_id, i.label, i.kind, i.articles) for i in items] == [
        ("w-a+w-b", label, "watch", 2),
        ("d-a", label, "doubt", 1),
        ("w-c", "les monnaies locales", "watch", 1),
    ]


def test_candidates_just_under_the_threshold_are_listed_near_the_line_and_not_counted(
    built: Built, tmp_path: Path
) -> None:
    ctx = _copy_of(built, tmp_path)
    try:
        with ctx.store.begin() as c:
            ids = _article_ids(c)

            def judged(name: str, score: float) -> None:
                c.execute(
                    update(t.judgements)
                    .where(
                        t.judgements.c.article_id == ids[f"https://ex.org/{name}"],
                        t.judgements.c.polarity == "evidence",
                    )
                    .values(accepted=False, score=score)
                )

            judged("e1", 0.55)  # near the line, but an analyst marked it wrong
            judged("e2", 0.45)  # near the line
            judged("e3", 0.2)  # far under it
            row = verdict_row(ids["https://ex.org/e1"], "plateformes", "rejected", NOW)
            c.execute(t.verdicts.insert().values(**row))
        d, _ = build_digest(ctx.store, built.ruleset, WEEK, NOW)
        hidden, _ = build_digest(ctx.store, built.ruleset, WEEK, NOW, near_line_min_score=1.01)
    finally:
        ctx.close()
    p = _rupture(d, "plateformes")
    assert p.score.evidence == 1 and [a.url for a in p.articles] == ["https://ex.org/e0"]
    assert [(a.url, a.score) for a in p.near_line] == [("https://ex.org/e2", 0.45)]
    assert p.near_line[0].item_ids == ("w-uber",) and not p.near_line[0].confirmed
    assert _rupture(d, "calme").near_line == ()
    assert _rupture(hidden, "plateformes").near_line == ()
    assert d.near_line_min_score == NEAR_LINE_MIN_SCORE
