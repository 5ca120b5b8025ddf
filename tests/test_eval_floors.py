"""The quality gate: `signals eval` on the held-out test split must hold the floors in
labels/floors.json (measured once; lowering a floor needs `--update-floors --allow-lower`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from signals.cli import cli

from .conftest import shared

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_test_split_holds_the_floors() -> None:
    tv = shared("backtest", "fr-tvnews-2013-2022", "tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz")
    lm = shared("feeds", "lemonde-rss-2022", "items_dedup.jsonl.gz")
    res = CliRunner().invoke(
        cli,
        [
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "eval",
            str(REPO / "labels" / "test.jsonl"),
            "--corpus",
            str(tv),
            "--corpus",
            str(lm),
            "--floors",
            str(REPO / "labels" / "floors.json"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    print(
        json.dumps(
            {k: data[k] for k in ("micro", "stream_precision", "labels", "missing")}, indent=1
        )
    )
    assert data["missing"] == 0
    assert data["labels"] >= 500
