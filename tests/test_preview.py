"""`signals preview` and the one-line preview of `signals check`: what an edit of scenarios.yaml
would change over the stored history, against the applied ruleset, a file or a git revision,
without writing anything."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from signals.cli import cli

from .conftest import shared

REPO = Path(__file__).resolve().parents[1]
ORIGINAL = 'any: ["Eusko numérique", '  # pp-monnaies-alternatives
EDITED = 'any: ["soldes", "ménages", "Eusko numérique", '  # common words: many new matches


def _edited(tmp_path: Path) -> Path:
    text = (REPO / "scenarios.yaml").read_text(encoding="utf-8")
    assert text.count(ORIGINAL) == 1
    p = tmp_path / "edited.yaml"
    p.write_text(text.replace(ORIGINAL, EDITED), encoding="utf-8")
    return p


def _db_file(url: str) -> Path:
    return Path(url.split("///", 1)[1])


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.slow  # on the demo database: `signals demo` once per worker
def test_preview_an_edit_against_the_applied_ruleset(demo_db: str, tmp_path: Path) -> None:
    edited = _edited(tmp_path)
    before = _sha(_db_file(demo_db))
    res = CliRunner().invoke(
        cli, ["--db", demo_db, "--scenarios", str(edited), "preview", "--json"]
    )
    assert res.exit_code == 0, res.output
    p = json.loads(res.output)
    assert p["baseline"] == "the applied ruleset" and p["articles"] > 200
    assert [r["rupture_id"] for r in p["ruptures"]] == ["post-patrimonial"]
    (item,) = p["items"]
    assert item["item_id"] == "pp-monnaies-alternatives" and item["change"] == "changed"
    assert item["gained"] >= 5 and item["lost"] == 0 and p["matches_gained"] == item["gained"]
    ex = item["examples_gained"][0]
    assert ex["url"].startswith("http") and ex["title"] and ex["published"]
    assert "soldes" in ex["sentence"].lower() or "ménages" in ex["sentence"].lower()
    pp = p["ruptures"][0]
    assert pp["evidence_gained"] >= 1 and pp["evidence_lost"] == 0
    # a status change only when the gained evidence moves a week's test (common words: the judge
    # takes few of those matches), so every listed change has that rupture gaining evidence
    assert all(
        s["rupture_id"] == "post-patrimonial" and s["evidence_after"] >= s["evidence_before"]
        for s in p["status_changes"]
    )
    assert _sha(_db_file(demo_db)) == before, "preview wrote to the database"
    # the text form, and the reverse comparison (current = applied, against = the edit) loses them
    res = CliRunner().invoke(cli, ["--db", demo_db, "--scenarios", str(edited), "preview"])
    assert (
        res.exit_code == 0 and "pp-monnaies-alternatives (watch, changed): matches +" in res.output
    )
    assert "weeks whose status changes: " in res.output and "nothing was written" in res.output
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            demo_db,
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "preview",
            "--against",
            str(edited),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    rev = json.loads(res.output)
    assert rev["items"][0]["lost"] == item["gained"] and rev["items"][0]["gained"] == 0
    assert rev["ruptures"][0]["evidence_lost"] == pp["evidence_gained"]


@pytest.mark.slow  # on the demo database: `signals demo` once per worker
def test_preview_of_a_cut_watch_list_lists_the_weeks_whose_status_changes(
    demo_db: str, tmp_path: Path
) -> None:
    data = yaml.safe_load((REPO / "scenarios.yaml").read_text(encoding="utf-8"))
    (pp,) = [r for r in data["ruptures"] if r["id"] == "post-patrimonial"]
    pp["watch"], pp["early_signs"] = pp["watch"][:1], []
    cut = tmp_path / "cut.yaml"
    cut.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    res = CliRunner().invoke(cli, ["--db", demo_db, "--scenarios", str(cut), "preview", "--json"])
    assert res.exit_code == 0, res.output
    p = json.loads(res.output)
    (rupture,) = p["ruptures"]
    assert rupture["rupture_id"] == "post-patrimonial" and rupture["evidence_lost"] >= 5
    changes = p["status_changes"]
    assert changes and {s["rupture_id"] for s in changes} == {"post-patrimonial"}
    assert any(s["evidence_after"] < s["evidence_before"] for s in changes)
    assert all(s["before"] != s["after"] for s in changes)
    res = CliRunner().invoke(cli, ["--db", demo_db, "--scenarios", str(cut), "preview"])
    assert res.exit_code == 0 and f"weeks whose status changes: {len(changes)}" in res.output


@pytest.mark.slow  # on the demo database: `signals demo` once per worker
def test_no_edit_no_change_and_check_summary(demo_db: str, tmp_path: Path) -> None:
    base = ["--db", demo_db, "--sources", str(REPO / "sources.yaml")]
    res = CliRunner().invoke(cli, [*base, "--scenarios", str(REPO / "scenarios.yaml"), "preview"])
    assert res.exit_code == 0 and "nothing would change" in res.output
    res = CliRunner().invoke(cli, [*base, "--scenarios", str(REPO / "scenarios.yaml"), "check"])
    assert res.exit_code == 0 and "preview: no change against the applied ruleset" in res.output
    res = CliRunner().invoke(cli, [*base, "--scenarios", str(_edited(tmp_path)), "check"])
    assert res.exit_code == 0, res.output
    (line,) = [x for x in res.output.splitlines() if x.startswith("preview")]
    assert "1 rupture(s) changed, matches +" in line and "-0" in line


def test_check_without_a_database_is_silent_and_creates_none(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            f"sqlite:///{db}",
            "--sources",
            str(REPO / "sources.yaml"),
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "check",
        ],
    )
    assert res.exit_code == 0 and res.output.startswith("ok:") and "preview" not in res.output
    assert not db.exists()


@pytest.mark.slow  # on the demo database: `signals demo` once per worker
@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_preview_against_a_git_revision(demo_db: str, tmp_path: Path) -> None:
    work = tmp_path / "repo"
    work.mkdir()
    scen = work / "scenarios.yaml"
    shutil.copyfile(REPO / "scenarios.yaml", scen)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "scenarios.yaml"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    scen.write_text(_edited(tmp_path).read_text(encoding="utf-8"), encoding="utf-8")
    res = CliRunner().invoke(
        cli, ["--db", demo_db, "--scenarios", str(scen), "preview", "--against", "HEAD", "--json"]
    )
    assert res.exit_code == 0, res.output
    p = json.loads(res.output)
    assert p["baseline"] == "HEAD:scenarios.yaml" and p["items"][0]["gained"] >= 5
    res = CliRunner().invoke(
        cli, ["--db", demo_db, "--scenarios", str(scen), "preview", "--against", "nope~9"]
    )
    assert res.exit_code == 2 and res.output.startswith("error: --against nope~9: not a file")
    assert res.output.strip().count("\n") == 0


@pytest.mark.slow  # a slice of the real TV news corpus, processed
def test_explain_and_preview_on_a_slice_of_real_tv_news(tmp_path: Path) -> None:
    corpus = shared("backtest", "fr-tvnews-2013-2022", "tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz")
    db = f"sqlite:///{tmp_path / 'tv.db'}"
    base = ["--db", db, "--scenarios", str(REPO / "scenarios.yaml")]
    res = CliRunner().invoke(
        cli,
        [
            *base,
            "import",
            str(corpus),
            "--field",
            "published=date",
            "--field",
            "source=media",
            "--field",
            "text=description",
            "--limit",
            "400",
            "--skip-invalid",
        ],
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, [*base, "process"])
    assert res.exit_code == 0, res.output
    # the edit: drop every term of the item that matched most, so its matches are lost
    eng = create_engine(db)
    with eng.connect() as c:
        row = c.execute(
            text(
                "select m.item_id, m.article_id from matches m join judgements j on "
                "j.article_id = m.article_id and j.rupture_id = m.rupture_id where j.accepted "
                "and m.kind = 'watch' group by m.item_id, m.article_id order by m.item_id"
            )
        ).first()
    eng.dispose()
    if row is None:
        pytest.skip("no evidence in this slice")
    item_id, article_id = row
    res = CliRunner().invoke(cli, [*base, "explain", str(article_id), "--json"])
    assert res.exit_code == 0, res.output
    ex = json.loads(res.output)
    assert any(i["item_id"] == item_id and i["fired"] for i in ex["items"])
    data = yaml.safe_load((REPO / "scenarios.yaml").read_text(encoding="utf-8"))
    for r in data["ruptures"]:
        for it in r.get("watch", []):
            if it["id"] == item_id:
                it["any"], it["all"] = ["zzqxj introuvable"], []
                it.pop("within", None)
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(cli, ["--db", db, "--scenarios", str(edited), "preview", "--json"])
    assert res.exit_code == 0, res.output
    p = json.loads(res.output)
    changed = {i["item_id"]: i for i in p["items"]}
    assert changed[item_id]["lost"] >= 1 and changed[item_id]["gained"] == 0
    assert (
        any(e["article_id"] == article_id for e in changed[item_id]["examples_lost"])
        or changed[item_id]["lost"] > 3
    )


@pytest.mark.slow  # on the demo database: `signals demo` once per worker
def test_a_rupture_added_or_removed(demo_db: str, tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "scenarios.yaml").read_text(encoding="utf-8"))
    last = data["ruptures"].pop()["id"]
    fewer = tmp_path / "fewer.yaml"
    fewer.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(cli, ["--db", demo_db, "--scenarios", str(fewer), "preview", "--json"])
    assert res.exit_code == 0, res.output
    p = json.loads(res.output)
    assert [(r["rupture_id"], r["change"]) for r in p["ruptures"]] == [(last, "removed")]
    assert {i["change"] for i in p["items"]} == {"removed"}
    assert all(s["rupture_id"] != last for s in p["status_changes"])
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            demo_db,
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "preview",
            "--against",
            str(fewer),
        ],
    )
    assert res.exit_code == 0 and f"== {last} (added)" in res.output
