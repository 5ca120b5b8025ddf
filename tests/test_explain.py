"""`signals explain`: the terms found per sentence, the items that fired, why the near ones did
not, and the article-level score — on a hand-made article and on the demo database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from signals.analyse import Analyser
from signals.cli import cli
from signals.config import load_scenarios
from signals.explain import ArticleInfo, explain_doc, render_text
from signals.judge import accept_all, load_model
from signals.match import compile_ruleset

REPO = Path(__file__).resolve().parents[1]

SCEN = """\
ruptures:
  - id: pp
    title: P
    watch:
      - {id: w-fires, label: fires, any: ["monnaie locale"]}
      - {id: w-none, label: none, any: ["coopérative"], none: ["supermarché"]}
      - {id: w-all, label: all, any: ["banque"], all: ["faillite"]}
      - {id: w-within, label: within, all: ["maire", "budget"], within: 3}
      - {id: w-context, label: context, any: ["jardin partagé"], context: ["quartier"]}
      - {id: w-min, label: min, any: ["recrute"], min_sentences: 2}
    doubts:
      - {id: d-doubt, label: doubt, any: ["euro numérique"]}
  - id: other
    title: O
    watch:
      - {id: o-fires, label: o, any: ["monnaie locale"]}
"""

TEXT = (
    "Une monnaie locale arrive en ville. "
    "La coopérative ouvre près du supermarché. "
    "La banque du coin recrute. "
    "Le maire a présenté hier soir aux habitants inquiets le budget. "
    "Un jardin partagé ouvre."
)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    p = tmp_path_factory.mktemp("explain") / "s.yaml"
    p.write_text(SCEN, encoding="utf-8")
    analyser = Analyser(entities=False)
    ruleset = compile_ruleset(load_scenarios(p), analyser)
    return ruleset, analyser.analyse(TEXT, "fr")


def _info() -> ArticleInfo:
    return ArticleInfo(None, "https://example.org/a", "t", "2025-01-01", "fr", ("x",))


def test_each_reason_a_near_item_did_not_fire(analysed) -> None:  # type: ignore[no-untyped-def]
    ruleset, doc = analysed
    ex = explain_doc(doc, ruleset, accept_all(), _info())
    items = {i.item_id: i for i in ex.items}
    assert items["w-fires"].fired and items["w-fires"].sentences == (0,)
    assert items["w-fires"].terms == ("monnaie locale",)
    assert (
        not items["w-none"].fired
        and "'none' term present: «supermarché»" in items["w-none"].why_not
    )
    assert items["w-all"].why_not == ("'all' term missing: «faillite»",)
    assert len(items["w-within"].why_not) == 1
    assert items["w-within"].why_not[0].startswith("'within 3': the terms are ")
    assert items["w-context"].why_not == ("no 'context' term in the article (one of: «quartier»)",)
    assert items["w-min"].why_not == ("'min_sentences 2': it hits 1 sentence(s) of the article",)
    assert "d-doubt" not in items  # none of its terms is in the article: not near
    # every term is listed in its sentence with what uses it
    s1 = ex.sentences[1]
    roles = {(u.item_id, u.role) for tf in s1.terms for u in tf.uses}
    assert roles == {("w-none", "any"), ("w-none", "none")}
    ml = next(tf for tf in ex.sentences[0].terms if tf.term == "monnaie locale")
    assert {(u.rupture_id, u.kind) for u in ml.uses} == {("pp", "watch"), ("other", "watch")}
    # the judgement: both ruptures are evidence candidates, accepted by the accept-all judge
    assert {(j.rupture_id, j.polarity, j.accepted) for j in ex.judgements} == {
        ("pp", "evidence", True),
        ("other", "evidence", True),
    }
    out = render_text(ex)
    assert "FIRED pp/w-fires (signal)" in out and "near  pp/w-none (signal)" in out


def test_rupture_filter_and_below_threshold(analysed) -> None:  # type: ignore[no-untyped-def]
    ruleset, doc = analysed
    ex = explain_doc(doc, ruleset, load_model(), _info(), rupture="other")
    assert {i.item_id for i in ex.items} == {"o-fires"}
    assert [j.rupture_id for j in ex.judgements] == ["other"]
    uses = {u.item_id for s in ex.sentences for tf in s.terms for u in tf.uses}
    assert uses == {"o-fires"}
    # a threshold above any score: fired, but not counted, and said so
    strict = load_model()
    from dataclasses import replace

    from signals.judge import JudgeModel
    from signals.models import Polarity

    models = {p: replace(m, threshold=1.01) for p, m in strict.models.items()}
    ex = explain_doc(doc, ruleset, JudgeModel(models, {}, "strict"), _info(), rupture="other")
    (j,) = ex.judgements
    assert not j.accepted and j.threshold == 1.01 and j.polarity == str(Polarity.EVIDENCE)
    assert "below the threshold: not counted" in render_text(ex)


def _one(db_url: str, sql: str) -> tuple:  # type: ignore[type-arg]
    eng = create_engine(db_url)
    with eng.connect() as c:
        row = c.execute(text(sql)).first()
    eng.dispose()
    assert row is not None
    return tuple(row)


@pytest.mark.slow  # on the demo database: `signals demo` once per worker
def test_explain_demo_article_by_url_and_id(demo_db: str) -> None:
    base = ["--db", demo_db, "--scenarios", str(REPO / "scenarios.yaml")]
    aid, url, rid = _one(
        demo_db,
        "select a.id, a.url, j.rupture_id from judgements j join articles a "
        "on a.id = j.article_id where j.accepted and j.polarity = 'evidence' "
        "order by j.score desc limit 1",
    )
    res = CliRunner().invoke(cli, [*base, "explain", url, "--json"])
    assert res.exit_code == 0, res.output
    ex = json.loads(res.output)
    assert ex["article"]["id"] == aid and ex["article"]["url"] == url
    j = next(x for x in ex["judgements"] if x["rupture_id"] == rid and x["polarity"] == "evidence")
    assert j["accepted"] and j["stored"] is True and j["score"] >= j["threshold"]
    assert any(i["fired"] and i["rupture_id"] == rid for i in ex["items"])
    fired_sentences = {s for i in ex["items"] if i["fired"] for s in i["sentences"]}
    assert all(ex["sentences"][s]["terms"] for s in fired_sentences)
    res = CliRunner().invoke(cli, [*base, "explain", str(aid), "--rupture", rid])
    assert res.exit_code == 0, res.output
    assert f"article {aid}:" in res.output and "counted" in res.output and "FIRED" in res.output


@pytest.mark.slow  # on the demo database: `signals demo` once per worker
def test_explain_demo_rejected_candidate(demo_db: str) -> None:
    aid, rid = _one(
        demo_db,
        "select article_id, rupture_id from judgements where not accepted "
        "and polarity = 'evidence' order by score limit 1",
    )
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            demo_db,
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "explain",
            str(aid),
            "--rupture",
            rid,
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        f"{rid} evidence: score" in res.output and "below the threshold: not counted" in res.output
    )


@pytest.mark.slow  # on the demo database: `signals demo` once per worker
def test_explain_unknown_article_is_one_line(demo_db: str) -> None:
    base = ["--db", demo_db, "--scenarios", str(REPO / "scenarios.yaml"), "explain"]
    for key in ("https://nowhere.example/x", "999999"):
        res = CliRunner().invoke(cli, [*base, key])
        assert res.exit_code == 2
        assert res.output.strip().count("\n") == 0 and res.output.startswith(
            "error: no stored article"
        )
    res = CliRunner().invoke(cli, [*base, "1", "--rupture", "no-such"])
    assert res.exit_code == 2 and "unknown rupture" in res.output


def test_explain_and_preview_on_both_databases(db_url: str, tmp_path: Path) -> None:
    """The store queries behind explain and preview, on SQLite and PostgreSQL."""
    scen = tmp_path / "s.yaml"
    scen.write_text(SCEN, encoding="utf-8")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {
                    "url": "https://ex.org/a",
                    "title": "Une monnaie locale",
                    "text": TEXT,
                    "published": "2025-01-06",
                    "source": "s1",
                },
                {
                    "url": "https://ex.org/b",
                    "title": "Rien",
                    "text": "La banque est en faillite.",
                    "published": "2025-01-07",
                    "source": "s2",
                },
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    base = ["--db", db_url, "--scenarios", str(scen)]
    for args in (["import", str(corpus)], ["process"]):
        res = CliRunner().invoke(cli, [*base, *args])
        assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, [*base, "explain", "https://ex.org/a", "--json"])
    assert res.exit_code == 0, res.output
    ex = json.loads(res.output)
    assert ex["article"]["sources"] == ["import-s1"] and ex["article"]["published"] == "2025-01-06"
    assert {i["item_id"] for i in ex["items"] if i["fired"]} == {"w-fires", "o-fires"}
    edited = tmp_path / "e.yaml"
    edited.write_text(
        SCEN.replace(
            'label: fires, any: ["monnaie locale"]', 'label: fires, any: ["zzqxj"]'
        ).replace('any: ["jardin partagé"], context: ["quartier"]', 'any: ["jardin partagé"]'),
        encoding="utf-8",
    )
    res = CliRunner().invoke(cli, ["--db", db_url, "--scenarios", str(edited), "preview", "--json"])
    assert res.exit_code == 0, res.output
    p = json.loads(res.output)
    items = {i["item_id"]: (i["gained"], i["lost"]) for i in p["items"]}
    assert items == {"w-fires": (0, 1), "w-context": (1, 0)}, items
