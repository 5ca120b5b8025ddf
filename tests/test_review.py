"""The analyst's feedback loop as a user runs it: import → process → export --review → fill the
verdict column → labels import → the digest counts change; bad rows change nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from signals.cli import cli

REPO = Path(__file__).resolve().parents[1]
# Written for this test (fictional): three articles about local currencies, one unrelated.
ARTICLES = [
    (
        "https://news.example.org/eusko",
        "Les monnaies locales se multiplient au Pays basque",
        "À Bayonne, l'eusko, monnaie locale complémentaire, circule désormais dans 800 commerces. "
        "Les monnaies locales complémentaires sont reconnues par la loi depuis 2014. "
        "D'autres villes lancent leur propre monnaie locale.",
    ),
    (
        "https://news.example.org/gonette",
        "La gonette, monnaie locale lyonnaise, fête ses cinq ans",
        "La monnaie locale de Lyon compte 3 000 utilisateurs. Les commerçants acceptent la gonette. "
        "L'association veut doubler le nombre de comptes en monnaie locale.",
    ),
    (
        "https://news.example.org/leman",
        "Le léman, une monnaie locale transfrontalière",
        "Entre Genève et la Haute-Savoie, la monnaie locale léman gagne des adhérents. "
        "Une monnaie locale numérique est lancée cette année.",
    ),
    (
        "https://news.example.org/meteo",
        "Orages sur le sud-ouest",
        "De fortes pluies sont attendues ce soir.",
    ),
]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


@pytest.fixture
def base(tmp_path: Path) -> list[str]:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(
            json.dumps(
                {"url": u, "title": t, "text": x, "published": "2024-03-05", "source": "Exemple"},
                ensure_ascii=False,
            )
            + "\n"
            for u, t, x in ARTICLES
        ),
        encoding="utf-8",
    )
    b = [
        "--db",
        f"sqlite:///{tmp_path / 's.db'}",
        "--reports",
        str(tmp_path / "reports"),
        "--scenarios",
        str(REPO / "scenarios.yaml"),
        "--now",
        "2024-03-12",
    ]
    assert invoke(*b, "import", str(corpus))[0] == 0
    assert invoke(*b, "process")[0] == 0
    return b


def _evidence(tmp_path: Path, base: list[str]) -> tuple[int, list[dict]]:
    code, out = invoke(*base, "digest", "--week", "2024-W10")
    assert code == 0, out
    d = json.loads((tmp_path / "reports" / "2024-W10.json").read_text())
    (r,) = [r for r in d["ruptures"] if r["id"] == "post-patrimonial"]
    return r["evidence"], r["articles"]


def test_review_round_trip(tmp_path: Path, base: list[str]) -> None:
    before, articles = _evidence(tmp_path, base)
    assert before == 3 and all(a["score"] is not None and a["reasons"] for a in articles)
    matches = tmp_path / "matches.csv"
    code, out = invoke(
        *base, "export", "--since", "2024-03-01", "--format", "csv", "-o", str(matches)
    )
    assert code == 0, out
    exported = [r for r in _read(matches) if r["rupture_id"] == "post-patrimonial"]
    assert exported and all(
        float(r["score"]) > 0 and r["accepted"] == "True" and r["reasons"] for r in exported
    )
    review = tmp_path / "review.csv"
    code, out = invoke(*base, "export", "--review", "--since", "2024-03-01", "-o", str(review))
    assert code == 0, out
    rows = _read(review)
    pp = [r for r in rows if r["rupture"] == "post-patrimonial"]
    assert len(pp) == 3 and all(r["verdict"] == "" and r["sentence"] for r in pp)
    for r in rows:
        if r["url"].endswith("/leman"):
            r["verdict"] = "wrong"
        elif r["url"].endswith("/eusko"):
            r["verdict"] = "right"
    with review.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    code, out = invoke(*base, "labels", "import", str(review), "--who", "alice")
    assert code == 0, out
    assert "1 right, 1 wrong" in out
    after, articles = _evidence(tmp_path, base)
    assert after == 2
    assert articles[0]["url"].endswith("/eusko") and articles[0]["confirmed"] is True
    assert not any(a["url"].endswith("/leman") for a in articles)
    # the verdicts become labels for eval and train
    labels = tmp_path / "feedback.jsonl"
    code, out = invoke(*base, "labels", "export", "-o", str(labels))
    assert code == 0, out
    recs = [json.loads(x) for x in labels.read_text().splitlines()]
    assert {(r["id"].rsplit("/", 1)[1], bool(r["labels"])) for r in recs} == {
        ("eusko", True),
        ("leman", False),
    }
    code, out = invoke(*base, "eval", str(labels))
    assert code == 0, out
    assert "2 labelled records used, 0 not found" in out


def test_bad_rows_are_listed_with_their_line_and_change_nothing(
    tmp_path: Path, base: list[str]
) -> None:
    review = tmp_path / "review.csv"
    assert invoke(*base, "export", "--review", "--since", "2024-03-01", "-o", str(review))[0] == 0
    rows = _read(review)
    rows[0]["verdict"] = "right"
    rows[1]["verdict"] = "peut-être"
    rows[2]["article_id"] = "99999"
    rows[2]["verdict"] = "wrong"
    with review.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    code, out = invoke(*base, "labels", "import", str(review), "--who", "bob")
    assert code == 2
    assert "2 invalid row(s); nothing stored" in out
    assert "review.csv:3:" in out and "review.csv:4:" in out and "not right/wrong" in out
    before, _ = _evidence(tmp_path, base)
    assert before == 3  # the valid first row was not stored either
    missing = tmp_path / "other.csv"
    missing.write_text("url,verdict\nhttps://x.org,right\n")
    code, out = invoke(*base, "labels", "import", str(missing), "--who", "bob")
    assert code == 2 and "missing column(s)" in out


def test_a_candidate_near_the_line_is_exported_confirmed_and_then_counted(
    tmp_path: Path, base: list[str]
) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "s.db")
    with db:
        for name, score in (("gonette", 0.5), ("leman", 0.2)):  # the judge rejected both
            db.execute(
                "UPDATE judgements SET accepted = 0, score = ? WHERE rupture_id = ? AND "
                "polarity = 'evidence' AND article_id = (SELECT id FROM articles WHERE url = ?)",
                (score, "post-patrimonial", f"https://news.example.org/{name}"),
            )
    db.close()
    code, out = invoke(*base, "digest", "--week", "2024-W10")
    assert code == 0, out
    d = json.loads((tmp_path / "reports" / "2024-W10.json").read_text())
    (r,) = [r for r in d["ruptures"] if r["id"] == "post-patrimonial"]
    assert r["evidence"] == 1
    assert [a["url"].rsplit("/", 1)[1] for a in r["near_line"]] == ["gonette"]
    md = (tmp_path / "reports" / "2024-W10.md").read_text()
    assert "--min-score 0.40" in md and "## Near the line (not counted)" in md

    review = tmp_path / "near.csv"
    since = ["--since", "2024-03-01", "-o", str(review)]
    code, out = invoke(
        *base, "export", "--review", "--all-candidates", "--min-score", "0.4", *since
    )
    assert code == 0, out
    rows = [r for r in _read(review) if r["rupture"] == "post-patrimonial"]
    assert {(r["url"].rsplit("/", 1)[1], r["accepted"]) for r in rows} == {
        ("eusko", "yes"),
        ("gonette", "no"),
    }
    for row in rows:
        row["verdict"] = "right" if row["url"].endswith("/gonette") else ""
    with review.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    code, out = invoke(*base, "labels", "import", str(review), "--who", "alice")
    assert code == 0 and "1 right, 0 wrong" in out, out
    after, articles = _evidence(tmp_path, base)
    assert after == 2 and articles[0]["url"].endswith("/gonette") and articles[0]["confirmed"]
    d = json.loads((tmp_path / "reports" / "2024-W10.json").read_text())
    (r,) = [r for r in d["ruptures"] if r["id"] == "post-patrimonial"]
    assert r["near_line"] == []

    code, out = invoke(*base, "export", "--review", "--min-score", "0.4", *since)
    assert code == 2 and out.strip() == "error: --min-score goes with --review --all-candidates"
    code, out = invoke(*base, "export", "--review", "--all-candidates", "--min-score", "2", *since)
    assert code == 2 and "--min-score" in out
