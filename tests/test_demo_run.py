"""`signals demo` end to end: the real pipeline over the bundled corpus tells the designed story
(one rupture gaining, one fading, the rest quiet or nearly) in the last week's digest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from signals.cli import cli

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("demo")


def test_demo_digest_tells_the_story(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    res = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'demo.db'}", "--reports", str(reports),
                                   "--scenarios", str(REPO / "scenarios.yaml"), "demo"])
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
    assert gaining["counter_evidence"], "the ubérisation debate piece is shown as counter-evidence"
    assert digest["ruptures"][0]["id"] == "post-patrimonial"
    assert digest["ruptures"][-1]["id"] == "tous-intermittents"
    for ext in ("md", "html"):
        assert (reports / f"2025-W15.{ext}").exists()
    assert (reports / "index.html").exists()
