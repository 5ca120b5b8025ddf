"""`signals backtest` on the demo corpus (as JSON Lines): the history files, no look-ahead (a
week's status does not change when later articles are added), the digest's own scores, and
the event windows' hit and false-alarm rates."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from signals.backtest import import_period, week_range, weeks_between
from signals.cli import cli
from signals.demo_corpus import load_corpus
from signals.errors import InputError
from signals.events import EventWindow, evaluate_events, load_events
from signals.score import WeeklyCounts, score_weeks

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("demo")
FIRST, MIDDLE, LAST = "2025-01-06", "2025-03-09", "2025-04-13"  # demo corpus: 2025-W02..W15


def demo_jsonl(path: Path) -> Path:
    """The demo corpus as JSON Lines (the form `import` reads)."""
    with path.open("w", encoding="utf-8") as fh:
        for a in load_corpus().articles:
            fh.write(
                json.dumps(
                    {
                        "url": f"https://{a.source}.example/articles/{a.id}.html",
                        "title": a.title,
                        "text": "\n\n".join((a.lede, *a.text_paragraphs)),
                        "published": a.published.isoformat(),
                        "source": a.source,
                        "language": a.language,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    return path


def invoke(tmp: Path, *args: str) -> Any:
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            f"sqlite:///{tmp / 'bt.db'}",
            "--reports",
            str(tmp / "reports"),
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "--now",
            "2025-04-20T08:00:00Z",
            *args,
        ],
    )
    assert res.exit_code == 0, res.output
    return res


def statuses(tmp: Path) -> dict[tuple[str, str], tuple[str, int, int]]:
    doc = json.loads((tmp / "reports/history/weeks.json").read_text(encoding="utf-8"))
    return {
        (r["week"], r["rupture_id"]): (r["status"], r["evidence"], r["analysed"])
        for r in doc["rows"]
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Backtest up to mid-March, then again to the end on the same database (importing the
    later articles), then the digest of two weeks: every CLI call of this file, done once."""
    tmp = tmp_path_factory.mktemp("backtest")
    corpus = demo_jsonl(tmp / "demo.jsonl")
    early = invoke(tmp, "backtest", str(corpus), "--from", FIRST, "--to", MIDDLE)
    before = statuses(tmp)
    late = invoke(tmp, "backtest", str(corpus), "--from", FIRST, "--to", LAST)
    after = statuses(tmp)
    events = tmp / "events.yaml"
    events.write_text(
        "- {rupture: post-patrimonial, from: 2025-03-31, to: 2025-04-13, what: the demo story}\n"
        "- {rupture: my-data, from: 2025-02-03, to: 2025-02-09, what: nothing happens}\n",
        encoding="utf-8",
    )
    scored = invoke(tmp, "backtest", "--from", FIRST, "--to", LAST, "--events", str(events))
    digests = invoke(tmp, "digest", "--from", "2025-W14", "--to", "2025-W15")
    return {
        "tmp": tmp,
        "early": early.output,
        "late": late.output,
        "before": before,
        "after": after,
        "events": scored.output,
        "digests": digests.output,
    }


@pytest.mark.slow  # the shared `run` fixture: three backtests of the demo corpus
def test_history_files(run: dict[str, Any]) -> None:
    out = run["tmp"] / "reports/history"
    doc = json.loads((out / "weeks.json").read_text(encoding="utf-8"))
    assert doc["weeks"] == week_range("2025-W02", "2025-W15")
    assert len(doc["rows"]) == 14 * len(doc["ruptures"]) == 14 * 19
    with (out / "weeks.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(doc["rows"]) and rows[0]["week"] == "2025-W02"
    gaining = {
        r["week"]
        for r in doc["rows"]
        if r["rupture_id"] == "post-patrimonial" and r["status"] in ("gaining", "new")
    }
    assert "2025-W15" in gaining, "the demo's story: post-patrimonial gains in its last week"
    peaks = next(r for r in doc["ruptures"] if r["id"] == "post-patrimonial")["peaks"]
    assert peaks and peaks[-1]["articles"], "the peak lists its top articles"
    assert all(a["url"].startswith("https://") and a["title"] for a in peaks[-1]["articles"])
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count('<svg class="chart"') == 19 and "<script" not in html
    assert "import: " in run["early"] and "backtest: 14 weeks" in run["late"]


@pytest.mark.slow  # the shared `run` fixture: three backtests of the demo corpus
def test_no_look_ahead(run: dict[str, Any]) -> None:
    before, after = run["before"], run["after"]
    assert "0 new articles" not in run["late"], "the second run imported the later articles"
    assert before and set(before) < set(after)
    assert any(v[1] for v in before.values()), "the early weeks have evidence (the test can fail)"
    changed = {k: (v, after[k]) for k, v in before.items() if after[k] != v}
    assert not changed, changed


@pytest.mark.slow  # the shared `run` fixture: three backtests of the demo corpus
def test_weeks_scored_as_the_digest_scored_them(run: dict[str, Any]) -> None:
    after = run["after"]
    for week in ("2025-W14", "2025-W15"):
        digest = json.loads((run["tmp"] / f"reports/{week}.json").read_text(encoding="utf-8"))
        for r in digest["ruptures"]:
            assert after[(week, r["id"])] == (r["status"], r["evidence"], r["analysed"]), (
                week,
                r["id"],
            )
        assert len(digest["ruptures"][0]["trend"]) == 52, (
            "the digest carries each rupture's 52 weeks"
        )
    assert "digest: 2 weeks" in run["digests"]


@pytest.mark.slow  # the shared `run` fixture: three backtests of the demo corpus
def test_events_hit_and_false_alarm_rates(run: dict[str, Any]) -> None:
    out = run["events"]
    assert "event windows hit 1/2 (50%)" in out, out
    assert "HIT  post-patrimonial" in out and "miss my-data" in out
    assert "false alarms " in out


def test_bad_events_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "events.yaml"
    bad.write_text(
        "- {rupture: no-such-rupture, from: 2025-01-01, to: 2025-01-05}\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="unknown rupture 'no-such-rupture'"):
        load_events(bad, {"my-data"})
    bad.write_text("- {rupture: my-data, from: 2025-01-09, to: 2025-01-05}\n", encoding="utf-8")
    with pytest.raises(InputError, match="'to' is before 'from'"):
        load_events(bad, {"my-data"})
    res = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "backtest", "--from", LAST, "--to", FIRST]
    )
    assert res.exit_code == 2 and "--to is before --from" in res.output


def test_evaluate_events() -> None:
    weeks = week_range("2025-W01", "2025-W30")
    event = EventWindow("a", date(2025, 3, 3), date(2025, 3, 9))  # 2025-W10
    rep = evaluate_events(
        [event], {"a": {"2025-W10", "2025-W25"}, "b": {"2025-W03"}}, weeks, weeks, ["a", "b"]
    )
    assert rep.hits == 1 and rep.results[0].hit_weeks == ("2025-W10",)
    # a: 30 weeks minus W06..W15 (4 weeks either side, +1 for the window) → 20; b: 30
    assert (rep.false_alarms, rep.other_weeks) == (2, 50)
    late = evaluate_events([event], {"a": {"2025-W11"}}, weeks, weeks, ["a"], window=2)
    assert late.hits == 1, "with a 2-week window the alarm may come one week after"
    outside = evaluate_events([event], {}, weeks, weeks[20:], ["a"])
    assert not outside.results, "an event outside the scored weeks is not counted"


def test_a_counter_window_is_hit_by_rising_counter_evidence(tmp_path: Path) -> None:
    weeks = week_range("2025-W01", "2025-W30")
    counter = EventWindow("a", date(2025, 3, 3), date(2025, 3, 9), "a ban", "counter")
    gaining_only = evaluate_events([counter], {"a": {"2025-W10"}}, weeks, weeks, ["a"])
    assert gaining_only.hits == 0, "gaining is not what a counter-evidence event shows"
    rising = evaluate_events([counter], {}, weeks, weeks, ["a"], counter_alarms={"a": {"2025-W10"}})
    assert rising.hits == 1 and rising.false_alarms == 0
    path = tmp_path / "events.yaml"
    path.write_text(
        "- {rupture: a, from: 2025-03-03, to: 2025-03-09, polarity: counter}\n"
        "- {rupture: a, from: 2025-04-07, to: 2025-04-13}\n",
        encoding="utf-8",
    )
    assert [e.polarity for e in load_events(path, {"a"})] == ["counter", "evidence"]
    path.write_text("- {rupture: a, from: 2025-03-03, to: 2025-03-09, polarity: up}\n")
    with pytest.raises(InputError, match="polarity must be evidence or counter"):
        load_events(path, {"a"})


def test_score_weeks_ignores_later_weeks() -> None:
    weeks = week_range("2025-W01", "2025-W20")
    ev = {w: (6 if w == "2025-W12" else 1) for w in weeks}
    base = WeeklyCounts(
        analysed={w: 100 for w in weeks},
        evidence={"a": ev},
        sources={"a": {}},
        doubts={"a": {}},
        first_evidence_week={"a": "2025-W01"},
        history_start="2025-W01",
    )
    more = WeeklyCounts(
        analysed={**base.analysed, "2025-W21": 5000},
        evidence={"a": {**ev, "2025-W21": 900}},
        sources={"a": {}},
        doubts={"a": {}},
        first_evidence_week={"a": "2025-W01"},
        history_start="2025-W01",
    )
    a, b = score_weeks(base, weeks, ["a"]), score_weeks(more, weeks, ["a"])
    assert a == b
    assert a["a"][weeks.index("2025-W12")].status == "gaining"


def test_periods() -> None:
    assert weeks_between(date(2024, 12, 30), date(2025, 1, 12)) == ["2025-W01", "2025-W02"]
    start, end = import_period(date(2025, 3, 5), date(2025, 3, 5))
    assert (start.isoformat(), end.isoformat()) == (
        "2024-03-04T00:00:00+00:00",  # the 52 baseline weeks before 2025-W10
        "2025-03-10T00:00:00+00:00",
    )
    with pytest.raises(ValueError):
        weeks_between(date(2025, 2, 1), date(2025, 1, 1))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2025-W10", "--to", "2025-W02"], "--to 2025-W02 is before --from 2025-W10"),
        (
            ["--week", "2025-W10", "--from", "2025-W02"],
            "--week cannot be combined with --from/--to",
        ),
        (["--to", "2025-W10"], "--to goes with --from"),
        (["--from", "2025-W54"], "--from: no such ISO week"),
    ],
)
def test_digest_range_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    res = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "digest", *args])
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output, (
        res.output
    )
    assert not (tmp_path / "x.db").exists()


SMALL_SCENARIOS = """\
ruptures:
  - id: plateformes
    title: Les plateformes
    watch:
      - {id: w-uber, label: "l'ubérisation", any: ["ubérisation"]}
  - id: calme
    title: Rien
    watch:
      - {id: w-jamais, label: jamais, any: ["zyxwvut"]}
"""


def test_a_small_backtest_writes_the_history_files(tmp_path: Path) -> None:
    """The fast counterpart of the demo backtests above: four weeks, two ruptures, evidence in
    the last week only."""
    from signals.judge import accept_all

    (tmp_path / "s.yaml").write_text(SMALL_SCENARIOS, encoding="utf-8")
    (tmp_path / "judge.json").write_text(json.dumps(accept_all().to_json()), encoding="utf-8")
    lines = []
    for week, day in enumerate(("2025-03-04", "2025-03-11", "2025-03-18", "2025-03-25")):
        for i in range(3):
            text = (
                "L'ubérisation des livreurs inquiète."
                if week == 3 and i < 2
                else "Il pleut sur la ville."
            )
            lines.append(
                json.dumps(
                    {
                        "url": f"https://ex.org/{week}-{i}",
                        "title": f"T{week}{i}",
                        "text": text,
                        "published": f"{day}T{i + 8:02d}:00:00+00:00",
                        "source": f"S{i}",
                    },
                    ensure_ascii=False,
                )
            )
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            f"sqlite:///{tmp_path / 'bt.db'}",
            "--reports",
            str(tmp_path / "r"),
            "--scenarios",
            str(tmp_path / "s.yaml"),
            "--judge",
            str(tmp_path / "judge.json"),
            "--now",
            "2025-04-01T08:00:00Z",
            "-q",
            "backtest",
            str(corpus),
            "--from",
            "2025-03-03",
            "--to",
            "2025-03-30",
        ],
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "r" / "history"
    doc = json.loads((out / "weeks.json").read_text(encoding="utf-8"))
    assert doc["weeks"] == ["2025-W10", "2025-W11", "2025-W12", "2025-W13"]
    assert [r["id"] for r in doc["ruptures"]] == ["plateformes", "calme"]
    rows = {(r["week"], r["rupture_id"]): r for r in doc["rows"]}
    assert len(rows) == len(doc["rows"]) == 4 * 2
    assert [rows[(w, "plateformes")]["evidence"] for w in doc["weeks"]] == [0, 0, 0, 2]
    assert {r["analysed"] for r in doc["rows"]} == {3}
    assert {rows[(w, "calme")]["status"] for w in doc["weeks"]} == {"quiet"}
    with (out / "weeks.csv").open(encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == 8
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count('<svg class="chart"') == 2 and "<script" not in html
