"""scripts/judge_rounds.py: which labelling round a dev record belongs to."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "judge_rounds.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("judge_rounds", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("judge_rounds", module)
    spec.loader.exec_module(module)
    return module


def test_rounds_1_and_2_are_not_mistaken_for_round_12() -> None:
    rounds = _load()
    assert rounds.round_of({"drawn_by": "query:my-data"}) == "r1-2"
    assert rounds.round_of({"drawn_by": "matcher"}) == "r1-2"
    assert rounds.round_of({"drawn_by": "r12:random"}) == "r12"
    assert rounds.round_of({"drawn_by": "matcher", "round": "r12"}) == "r12"
    assert rounds.round_of({"drawn_by": "r3:query:x"}) == "r3"
