"""`signals demo` end to end: the real pipeline over the bundled corpus tells the designed story
(one rupture gaining, one fading, the rest quiet or nearly) in the last week's digest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from signals.cli import cli

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("demo")


@pytest.mark.slow  # the whole demo replay
def test_demo_digest_tells_the_story(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            f"sqlite:///{tmp_path / 'demo.db'}",
            "--reports",
            str(reports),
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "demo",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output
    digest = json.loads((reports / "2025-W15.json").read_text(encoding="utf-8"))
    status = {r["id"]: r["status"] for r in digest["ruptures"]}
    assert status["post-patrimonial"] == "gaining", status
    assert status["tous-intermittents"] == "fading", status
    assert sum(s == "quiet" for s in status.values()) >= 12, status
    gaining = next(r for r in digest["ruptures"] if r["id"] == "post-patrimonial")
    assert gaining["sources"] >= 3 and gaining["confidence"] in ("high", "medium")
    assert gaining["articles"] and all(a["sentence"] for a in gaining["articles"])
    assert gaining["counter_evidence"], (
        "the report on platform capture is shown as counter-evidence"
    )
    assert digest["ruptures"][0]["id"] == "post-patrimonial"
    assert digest["ruptures"][-1]["id"] == "tous-intermittents"
    for ext in ("md", "html"):
        assert (reports / f"2025-W15.{ext}").exists()
    assert (reports / "index.html").exists()
    # the links open after the demo's server is gone: archived copies beside the digest
    html = (reports / "2025-W15.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(demo/articles/[a-z0-9-]+\.html)"', html)
    assert len(links) >= len(gaining["articles"]) and all(
        (reports / link).is_file() for link in links
    )
    assert "127.0.0.1" not in html and "127.0.0.1" not in (reports / "2025-W15.md").read_text(
        encoding="utf-8"
    )
    assert all(a["url"].startswith("demo/articles/") for a in gaining["articles"])
    # emerging terms (issue 9 item 6): in the JSON, and the moved ruptures' sections in HTML and MD
    em = gaining["emerging"]
    assert em["weeks"] == 12 and em["evidence"] >= gaining["evidence"] and em["terms"]
    assert {"term", "kind", "quadrant", "visibility", "growth", "in_watch_list"} <= set(
        em["terms"][0]
    )
    assert {t["quadrant"] for t in em["terms"]} <= {"weak", "strong", "latent", "well-known"}
    assert not {"selon", "signals", "samedi", "article"} & {t["term"].lower() for t in em["terms"]}
    assert not any(
        e["name"] in ("Signals", "Samedi") for r in digest["ruptures"] for e in r["entities"]
    )
    assert html.count('<svg class="emerging-map"') == html.count("<h3>Emerging terms (") >= 2
    md = (reports / "2025-W15.md").read_text(encoding="utf-8")
    assert (
        md.count("### Emerging terms (") >= 2 and "| Term | Quadrant | Visibility | Growth |" in md
    )
    # the digest does not write the (unread) weekly_scores table
    engine = create_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from weekly_scores")).scalar() == 0
    engine.dispose()
