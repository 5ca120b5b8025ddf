"""The re-match after an edit: the incremental one (only the articles the key index finds for
the changed items) leaves the store exactly as a full re-match does, edit after edit, on SQLite
and PostgreSQL; the full one is taken when the change is global, and builds the key index of a
database from before it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from signals.analyse import Analyser
from signals.config import Scenarios
from signals.judge import load_model, model_from_json
from signals.match import compile_ruleset
from signals.process import process_pending
from signals.rematch import rematch
from signals.rematch_plan import KEY_INDEX_VERSION, META_KEY_INDEX
from signals.store import Store, open_store, repo
from signals.store import schema as t

NOW = datetime(2024, 3, 6, 12, tzinfo=UTC)
ANALYSER = Analyser(entities=False)
JUDGE = load_model()

TEXTS = [
    "La monnaie locale arrive en ville. Les commerçants acceptent la monnaie locale.",
    "Le troc revient dans les villages. L'ubérisation menace les artisans.",
    "Une coopérative d'habitants rachète les logements du quartier.",
    "Le covoiturage solidaire relie les villages sans bus.",
    "La ville lance une monnaie locale et une coopérative d'habitants.",
    "Les prix de l'énergie montent encore cet hiver.",
    "Le revenu universel testé dans trois départements. Le débat sur le revenu universel reprend.",
    "La pluie tombe sur Paris, rien de neuf.",
    "Une monnaie complémentaire, la monnaie locale du pays basque, circule depuis dix ans.",
    "L'ubérisation du travail inquiète les syndicats ; le troc ne suffit pas.",
    "Des jardins partagés et une coopérative d'habitants à Lyon.",
    "Le gouvernement parle de revenu universel et de monnaie locale.",
]

BASE: dict[str, Any] = {
    "ruptures": [
        {
            "id": "post-patrimonial",
            "title": "P",
            "watch": [
                {"id": "w-monnaie", "label": "monnaies", "any": ["monnaie locale"]},
                {
                    "id": "w-habitat",
                    "label": "habitat",
                    "any": ["coopérative d'habitants", "jardins partagés"],
                    "weight": 1.5,
                },
            ],
            "early_signs": [{"id": "e-troc", "label": "troc", "any": ["troc"]}],
            "doubts": [{"id": "d-uber", "label": "doute", "any": ["ubérisation"]}],
        },
        {
            "id": "revenu",
            "title": "R",
            "watch": [{"id": "w-revenu", "label": "revenu", "any": ["revenu universel"]}],
        },
    ]
}


def _edit(data: dict[str, Any], change: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    change(out)
    return out


def _items(d: dict[str, Any], rupture: int, kind: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = d["ruptures"][rupture][kind]
    return items


EDITS = [
    ("add a term", lambda d: _items(d, 0, "watch")[0]["any"].append("monnaie complémentaire")),
    ("remove a term", lambda d: _items(d, 0, "watch")[1]["any"].remove("jardins partagés")),
    ("change a weight", lambda d: _items(d, 0, "watch")[0].update(weight=3.0)),
    ("remove an item", lambda d: _items(d, 0, "doubts").clear()),
    (
        "add a rupture",
        lambda d: d["ruptures"].append(
            {
                "id": "mobilite",
                "title": "M",
                "watch": [{"id": "w-covoit", "label": "covoiturage", "any": ["covoiturage"]}],
                "doubts": [{"id": "d-bus", "label": "bus", "any": ["sans bus"]}],
            }
        ),
    ),
    ("add a none term", lambda d: _items(d, 1, "watch")[0].update(none=["trois départements"])),
]


def _snapshot(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """What the digest reads: every match (but its row id) and every judgement."""
    m, j = t.matches.c, t.judgements.c
    with store.engine.connect() as c:
        matches = c.execute(
            select(m.article_id, m.rupture_id, m.item_id, m.kind, m.sentence, m.weight).add_columns(
                m.ruleset_version
            )
        ).all()
        judged = c.execute(
            select(j.article_id, j.rupture_id, j.polarity, j.score, j.accepted, j.reasons)
        ).all()
    return sorted(tuple(r) for r in matches), sorted(
        (*r[:5], json.dumps(r.reasons)) for r in judged
    )


def _store(url: str, data: dict[str, Any]) -> Store:
    store = open_store(url)
    with store.begin() as c:
        repo.ensure_import_source(c, "a", "fr")
        for i, text in enumerate(TEXTS):
            repo.add_article(
                c,
                repo.NewArticle(
                    url=f"https://x.org/{i}",
                    guid=None,
                    title="",
                    summary="",
                    published_at=NOW,
                    published_raw=NOW,
                    date_flag=None,
                    week="2024-W10",
                    language="fr",
                    state="ready",
                    text=text,
                ),
                "a",
                NOW,
            )
    rs = compile_ruleset(Scenarios.model_validate(data), ANALYSER)
    assert process_pending(store, rs, JUDGE, ANALYSER, lambda: NOW, neardup=None).processed == 12
    return store


def test_incremental_equals_full_edit_after_edit(db_url: str) -> None:
    store = _store(db_url, BASE)
    data = BASE
    before = _snapshot(store)
    for name, change in EDITS:
        data = _edit(data, change)
        rs = compile_ruleset(Scenarios.model_validate(data), ANALYSER)
        n = rematch(store, rs, JUDGE, ANALYSER)
        incremental = _snapshot(store)
        assert 0 < n < len(TEXTS), (name, n)  # some articles, not all of them
        assert incremental != before, name  # the edit changed what is stored
        assert rematch(store, rs, JUDGE, ANALYSER, force=True) == len(TEXTS)
        assert _snapshot(store) == incremental, name
        before = incremental
    store.dispose()


def test_moving_items_and_relabelling_rematch_nothing(sqlite_url: str) -> None:
    store = _store(sqlite_url, BASE)
    before = _snapshot(store)

    def change(d: dict[str, Any]) -> None:
        d["ruptures"][0]["watch"].reverse()
        d["ruptures"].reverse()
        d["ruptures"][0]["watch"][0]["label"] = "un autre libellé"

    rs = compile_ruleset(Scenarios.model_validate(_edit(BASE, change)), ANALYSER)
    assert rematch(store, rs, JUDGE, ANALYSER) == 0
    after = _snapshot(store)
    assert {r[-1] for r in after[0]} == {rs.version}  # every match recorded with the new version
    assert rematch(store, rs, JUDGE, ANALYSER, force=True) == len(TEXTS)
    assert _snapshot(store) == after
    assert [r[:-1] for r in after[0]] == [r[:-1] for r in before[0]]
    store.dispose()


def test_a_new_judge_model_rematches_everything(sqlite_url: str) -> None:
    store = _store(sqlite_url, BASE)
    raw = JUDGE.to_json()
    raw["evidence"]["intercept"] += 0.5
    judge = model_from_json(raw)
    rs = compile_ruleset(Scenarios.model_validate(BASE), ANALYSER)
    assert rematch(store, rs, judge, ANALYSER) == len(TEXTS)
    store.dispose()


def _index(store: Store) -> list[tuple[str, int]]:
    k = t.analysis_keys.c
    with store.engine.connect() as c:
        return sorted((r.key, r.article_id) for r in c.execute(select(k.key, k.article_id)))


def test_a_database_without_the_index_gets_it_from_a_full_rematch(db_url: str) -> None:
    store = _store(db_url, BASE)
    indexed = _index(store)
    first = min(a for _, a in indexed)  # TEXTS[0], "La monnaie locale arrive en ville."
    assert {("monnai", first), ("local", first)} <= set(indexed)
    with store.begin() as c:  # as revision 0006 leaves a database analysed before it
        c.execute(delete(t.analysis_keys))
        c.execute(delete(t.meta).where(t.meta.c.key == META_KEY_INDEX))
    data = _edit(BASE, EDITS[0][1])
    rs = compile_ruleset(Scenarios.model_validate(data), ANALYSER)
    assert rematch(store, rs, JUDGE, ANALYSER) == len(TEXTS)  # full: the index is not complete
    assert _index(store) == indexed
    with store.engine.connect() as c:
        assert repo.get_meta(c, META_KEY_INDEX) == KEY_INDEX_VERSION
    rs = compile_ruleset(Scenarios.model_validate(_edit(data, EDITS[1][1])), ANALYSER)
    assert 0 < rematch(store, rs, JUDGE, ANALYSER) < len(TEXTS)  # incremental from now on
    store.dispose()


def test_process_indexes_every_distinct_key_once(sqlite_url: str) -> None:
    store = _store(sqlite_url, BASE)
    with store.engine.connect() as c:
        rows = repo.stored_analyses(c, [1])
        n = c.execute(
            select(func.count())
            .select_from(t.analysis_keys)
            .where(t.analysis_keys.c.article_id == 1)
        ).scalar_one()
    keys = {k for _, ks in rows[0].sentences for k in ks.split() if k != "|"}
    assert n == len(keys) and n > 5
    store.dispose()


@pytest.mark.parametrize("force", [False, True])
def test_nothing_to_do_when_up_to_date(sqlite_url: str, force: bool) -> None:
    store = _store(sqlite_url, BASE)
    rs = compile_ruleset(Scenarios.model_validate(BASE), ANALYSER)
    assert rematch(store, rs, JUDGE, ANALYSER, force=force) == (len(TEXTS) if force else 0)
    store.dispose()
