"""`signals tune`: per-item counts, dead and noisy items, examples, per-year counts, candidates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from signals.cli import cli

SCEN = """\
ruptures:
  - id: pp
    title: P
    watch:
      - {id: w-monnaie, label: l, any: ["monnaie locale"]}
      - {id: w-jamais, label: l, any: ["zyxwvut"], comment: "the seed's wording; kept for recall"}
      - {id: w-bruit, label: l, any: ["ville"]}
"""


def _corpus(tmp_path: Path) -> Path:
    lines = []
    for i in range(60):
        year = 2014 + i % 3
        text = "La ville change."
        if i % 6 == 0:
            text += " Une monnaie locale arrive, soutenue par la coopérative citoyenne."
        lines.append(
            json.dumps(
                {
                    "url": f"https://ex.org/{i}",
                    "title": f"T{i}",
                    "description": text,
                    "date": f"{year}-03-0{1 + i % 7}",
                    "source": "x",
                }
            )
        )
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(lines) + "\n{broken\n", encoding="utf-8")
    return p


def test_tune_json_and_text(tmp_path: Path) -> None:
    sc = tmp_path / "s.yaml"
    sc.write_text(SCEN, encoding="utf-8")
    corpus = _corpus(tmp_path)
    args = [
        "--scenarios",
        str(sc),
        "tune",
        "--corpus",
        str(corpus),
        "--field",
        "text=description",
        "--field",
        "published=date",
        "--noisy",
        "0.5",
    ]
    # the broken last line: an error naming it, as for `import`, unless --skip-invalid
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        f"error: {corpus}:61: not JSON (Expecting property name enclosed in double quotes) "
        "(pass --skip-invalid to skip bad lines)"
    ]
    args.append("--skip-invalid")
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["articles"] == 60
    items = {i["item_id"]: i for i in rep["items"]}
    assert items["w-monnaie"]["articles"] == 10 and items["w-monnaie"]["status"] == "ok"
    assert items["w-monnaie"]["examples"][0].startswith("Une monnaie locale arrive")
    assert items["w-monnaie"]["example_articles"][0] == {
        "title": "T0",
        "published": "2014-03-01",
        "url": "https://ex.org/0",
    }
    assert rep["dead"] == ["w-jamais"] and rep["noisy"] == ["w-bruit"]
    pp = rep["ruptures"][0]
    assert sum(pp["by_year"].values()) == 60  # w-bruit is evidence too
    # every article is evidence (w-bruit matches "ville" in all 60): no rest to contrast with, so
    # no word can be over-represented (test_candidates_ranked_by_log_odds_not_boilerplate has some)
    assert pp["evidence_articles"] == 60 and pp["candidates"] == []
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0
    assert (
        "DEAD" in res.output
        and "why it stays: the seed's wording" in res.output
        and "NOISY" in res.output
    )
    res = CliRunner().invoke(cli, [*args, "--fail-on-noisy"])
    assert res.exit_code == 1


def _ranking_corpus(tmp_path: Path) -> Path:
    """60 articles, 10 of them evidence (a local currency). Boilerplate words are in every evidence
    article and few others; "gouvernement" in every evidence article and a quarter of the rest; the
    real candidate, "coopérative", in half the evidence articles and nowhere else. Ranked by
    support × log lift, "tribune" and then "gouvernement" would lead."""
    lines = []
    for i in range(60):
        ev = i < 10
        words = [f"Dépêche {i}."]
        if ev:
            words.append(
                "Une monnaie locale. Tribune du monde, une bonne chose, dit le gouvernement."
            )
            if i < 5:
                words.append("La coopérative.")
        else:
            if i < 22:
                words.append("Le gouvernement.")
            if i % 10 == 0:
                words.append("Tribune du monde, bonne chose.")
        lines.append(
            json.dumps(
                {
                    "url": f"https://ex.org/{i}",
                    "title": f"T{i}",
                    "text": " ".join(words),
                    "published": f"2016-03-0{1 + i % 7}",
                }
            )
        )
    p = tmp_path / "rank.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_candidates_ranked_by_log_odds_not_boilerplate(tmp_path: Path) -> None:
    sc = tmp_path / "s.yaml"
    sc.write_text(SCEN, encoding="utf-8")
    res = CliRunner().invoke(
        cli, ["--scenarios", str(sc), "tune", "--corpus", str(_ranking_corpus(tmp_path)), "--json"]
    )
    assert res.exit_code == 0, res.output
    cands = [c[0] for c in json.loads(res.output)["ruptures"][0]["candidates"]]
    assert cands and cands[0] == "cooperative", cands
    assert not {"tribune", "monde", "bonne", "une", "dit"} & set(cands)


def test_log_odds_prior_shrinks_rare_and_ubiquitous_words() -> None:
    from signals.tune import log_odds_z

    everywhere = log_odds_z(10, 10, 60, 60)  # in every article: no information
    assert abs(everywhere[1]) < 1
    rare = log_odds_z(1, 10, 1, 1000)  # once, in evidence: shrunk below significance
    focused = log_odds_z(20, 40, 22, 1000)
    assert rare[1] < 1.96 < focused[1]
    assert log_odds_z(0, 10, 30, 60)[0] < 0  # absent from the evidence: negative


@pytest.mark.slow  # on the demo database: `signals demo` once per worker
def test_tune_on_the_database_with_clickable_examples(demo_db: str, tmp_path: Path) -> None:
    scen = str(Path(__file__).resolve().parents[1] / "scenarios.yaml")
    res = CliRunner().invoke(cli, ["--db", demo_db, "--scenarios", scen, "tune", "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["corpus"] == "the database" and rep["articles"] >= 250 and rep["weeks"] >= 10
    live = [i for i in rep["items"] if i["articles"]]
    assert live and all(len(i["example_articles"]) == len(i["examples"]) for i in live)
    ex = live[0]["example_articles"][0]
    assert (
        ex["url"].startswith("http://127.0.0.1")
        and ex["title"]
        and ex["published"].startswith("2025-")
    )
    pp = next(r for r in rep["ruptures"] if r["rupture_id"] == "post-patrimonial")
    assert pp["evidence_articles"] > 0 and pp["candidates"]
    res = CliRunner().invoke(cli, ["--db", demo_db, "--scenarios", scen, "tune", "--limit", "50"])
    assert (
        res.exit_code == 0
        and "50 articles" in res.output
        and "» — " in res.output
        and " <http://" in res.output
    )
    res = CliRunner().invoke(
        cli, ["--db", demo_db, "--scenarios", scen, "tune", "--field", "text=x"]
    )
    assert res.exit_code == 2 and "--field goes with --corpus" in res.output
    missing = tmp_path / "none.db"
    res = CliRunner().invoke(cli, ["--db", f"sqlite:///{missing}", "--scenarios", scen, "tune"])
    assert res.exit_code == 3 and "no database" in res.output and not missing.exists()
