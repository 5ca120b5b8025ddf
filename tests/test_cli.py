"""The command line as a user runs it: import → process → digest → export, errors and exit codes."""

from __future__ import annotations

import csv
import io
import json
import lzma
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from signals.cli import cli

from .conftest import shared

REPO = Path(__file__).resolve().parents[1]


def invoke(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


@pytest.fixture
def base(tmp_path: Path) -> list[str]:
    return [
        "--db",
        f"sqlite:///{tmp_path / 's.db'}",
        "--reports",
        str(tmp_path / "reports"),
        "--scenarios",
        str(REPO / "scenarios.yaml"),
    ]


def test_every_command_has_help_with_an_example() -> None:
    for name, cmd in cli.commands.items():
        assert cmd.help and "Example:" in cmd.help, name
        code, out = invoke(name, "--help")
        assert code == 0 and "Usage:" in out


@pytest.mark.slow  # a slice of the real TV news corpus, processed
def test_import_process_digest_export_tvnews_slice(base: list[str], tmp_path: Path) -> None:
    """A slice of the real French TV news corpus (2013-2022) through import, process, digest, export."""
    src = shared("backtest", "fr-tvnews-2013-2022", "tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz")
    slice_path = tmp_path / "slice.jsonl"
    n = 0
    with (
        lzma.open(src, "rt", encoding="utf-8") as fh,
        slice_path.open("w", encoding="utf-8") as out,
    ):
        for line in fh:
            d = json.loads(line)
            if "2016-03-28" <= d["date"] < "2016-04-04":
                out.write(line)
                n += 1
            elif d["date"] >= "2016-04-04":
                break
    assert n > 150
    code, out = invoke(
        *base,
        "--now",
        "2016-04-05",
        "import",
        str(slice_path),
        "--field",
        "published=date",
        "--field",
        "source=media",
        "--field",
        "text=description",
    )
    assert code == 0, out
    m = re.search(
        r"import: (\d+) lines, (\d+) new articles, (\d+) already known, (\d+) invalid", out
    )
    assert m, out
    lines, new, known, invalid = map(int, m.groups())
    assert (lines, invalid) == (n, 0) and new + known == n and new > 150, out
    code, out = invoke(*base, "--now", "2016-04-05", "process")
    assert code == 0, out
    code, out = invoke(*base, "--now", "2016-04-05", "digest")
    assert code == 0, out
    data = json.loads((tmp_path / "reports" / "2016-W13.json").read_text(encoding="utf-8"))
    assert data["week"] == "2016-W13"
    assert 50 < data["articles_analysed"] <= n
    assert {r["id"] for r in data["ruptures"]} >= {"post-patrimonial"}
    res = CliRunner().invoke(
        cli, [*base, "export", "--since", "2016-03-01", "--until", "2016-04-04", "--format", "csv"]
    )
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert f"export: {len(rows)} matches" in res.stderr
    assert rows and set(rows[0]) == {
        "url",
        "title",
        "source",
        "published",
        "rupture_id",
        "item_id",
        "kind",
        "sentence",
        "score",
        "accepted",
        "reasons",
    }
    # importing the same file twice adds nothing
    code, out = invoke(
        *base,
        "import",
        str(slice_path),
        "--field",
        "published=date",
        "--field",
        "source=media",
        "--field",
        "text=description",
    )
    assert code == 0 and ", 0 new articles" in out


def test_import_rejects_bad_lines_and_writes_nothing(base: list[str], tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    good = {
        "url": "https://ex.org/a",
        "title": "t",
        "text": "La monnaie locale.",
        "published": "2024-01-02",
        "source": "Ex",
    }
    p.write_text(
        "\n".join(
            [
                json.dumps(good),
                "{not json",
                json.dumps({**good, "url": "ftp://x"}),
                json.dumps({**good, "published": "yesterday"}),
                json.dumps({**good, "text": None, "title": ""}),
            ]
        ),
        encoding="utf-8",
    )
    code, out = invoke(*base, "import", str(p))
    assert code == 2
    for line in (2, 3, 4, 5):
        assert f"bad.jsonl:{line}:" in out
    assert "nothing imported" in out
    code, out = invoke(*base, "import", str(p), "--skip-invalid")
    assert code == 0 and "1 new articles" in out and "4 invalid" in out


def test_bad_week_and_now_are_usage_errors(base: list[str]) -> None:
    code, out = invoke(*base, "digest", "--week", "2024-W60")
    assert code == 2 and "--week" in out
    code, out = invoke(*base, "--now", "not-a-date", "digest")
    assert code == 2 and "ISO-8601" in out


def test_unreachable_database_exit_3() -> None:
    code, out = invoke(
        "--db",
        "postgresql+psycopg://nobody:secret@127.0.0.1:1/x",
        "--scenarios",
        str(REPO / "scenarios.yaml"),
        "digest",
    )
    assert code == 3
    assert "cannot open database" in out and "secret" not in out


@pytest.mark.slow  # three weeks of the real TV news corpus, processed
def test_digest_range_with_charts_on_real_tv_news(base: list[str], tmp_path: Path) -> None:
    """`digest --from/--to` over three weeks of real TV news, in one process: a digest per week,
    each HTML page with its 52-week charts (inline SVG, no script) and the index listing all."""
    src = shared("backtest", "fr-tvnews-2013-2022", "tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz")
    slice_path = tmp_path / "slice.jsonl"
    with (
        lzma.open(src, "rt", encoding="utf-8") as fh,
        slice_path.open("w", encoding="utf-8") as out,
    ):
        for line in fh:
            day = json.loads(line)["date"]
            if "2016-03-14" <= day < "2016-04-04":
                out.write(line)
            elif day >= "2016-04-04":
                break
    fields = ["--field", "published=date", "--field", "source=media", "--field", "text=description"]
    code, out = invoke(*base, "--now", "2016-04-05", "import", str(slice_path), *fields)
    assert code == 0, out
    code, out = invoke(*base, "--now", "2016-04-05", "process")
    assert code == 0, out
    code, out = invoke(
        *base, "--now", "2016-04-05", "digest", "--from", "2016-W11", "--to", "2016-W13"
    )
    assert code == 0, out
    assert "digest: 3 weeks, index and feed rewritten" in out
    reports = tmp_path / "reports"
    for week in ("2016-W11", "2016-W12", "2016-W13"):
        data = json.loads((reports / f"{week}.json").read_text(encoding="utf-8"))
        assert data["week"] == week and data["articles_analysed"] > 100
        html = (reports / f"{week}.html").read_text(encoding="utf-8")
        assert html.count("<svg") >= len(data["ruptures"]) and "<script" not in html
        assert all(len(r["trend"]) >= 1 for r in data["ruptures"])
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{w}.html"' in index for w in ("2016-W11", "2016-W12", "2016-W13"))
