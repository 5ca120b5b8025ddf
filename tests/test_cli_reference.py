"""The README's CLI reference is what `--help` says (regenerate with `make docs`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cogapp", reason="cogapp (a dev dependency) is not installed")

ROOT = Path(__file__).resolve().parent.parent


def test_readme_cli_reference_is_current() -> None:
    # a fresh interpreter: no state other tests left in click or in the environment
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALS_")} | {"COLUMNS": "100"}
    done = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", "README.md"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"README.md CLI reference is stale: run `make docs`\n{done.stderr}"
