"""scripts/judge_rounds.py: which labelling round a dev record belongs to."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from signals.labels import read_labels

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "judge_rounds.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("judge_rounds", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("judge_rounds", module)
    spec.loader.exec_module(module)
    return module


def test_rounds_1_and_2_are_not_mistaken_for_round_12(tmp_path: Path) -> None:
    rounds = _load()
    rows = [
        {"drawn_by": "query:my-data"},
        {"drawn_by": "matcher"},
        {"drawn_by": "r12:random"},
        {"drawn_by": "matcher", "round": "r12"},
        {"drawn_by": "r3:query:x"},
    ]
    path = tmp_path / "l.jsonl"
    path.write_text(
        "".join(
            json.dumps({"id": f"https://ex.org/{n}", "labels": [], **r}) + "\n"
            for n, r in enumerate(rows)
        )
    )
    got = [rounds.round_of(rec) for rec in read_labels([path])]
    assert got == ["r1-2", "r1-2", "r12", "r12", "r3"]
