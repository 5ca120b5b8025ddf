"""The README's CLI reference is what `--help` says (regenerate with `make docs`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

cogapp = pytest.importorskip("cogapp", reason="cogapp (a dev dependency) is not installed")

ROOT = Path(__file__).resolve().parent.parent


def test_readme_cli_reference_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setitem(os.environ, "COLUMNS", "100")
    status = cogapp.Cog().main(["cog", "--check", "README.md"])
    assert status == 0, "README.md CLI reference is stale: run `make docs`"
