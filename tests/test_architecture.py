"""Layering rules that a grep can check: every query lives in ``signals/store/``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "signals"
SQL_BUILDERS = {
    "select",
    "insert",
    "update",
    "delete",
    "text",
    "func",
    "and_",
    "or_",
    "table",
    "column",
    "literal_column",
}


def _sql_outside_store() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                found += [
                    f"{rel}:{node.lineno}: imports {a.name}"
                    for a in node.names
                    if a.name in SQL_BUILDERS
                ]
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.endswith("store")
                and any(a.name == "schema" for a in node.names)
            ):
                found.append(f"{rel}:{node.lineno}: imports the table definitions")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "execute"
            ):
                found.append(f"{rel}:{node.lineno}: calls .execute()")
    return found


def test_no_module_outside_store_builds_or_runs_sql() -> None:
    assert _sql_outside_store() == []


def test_the_check_sees_a_query(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "signals"
    (pkg / "store").mkdir(parents=True)
    (pkg / "store" / "repo.py").write_text("from sqlalchemy import select\n", encoding="utf-8")
    (pkg / "bad.py").write_text(
        "from sqlalchemy import select, Connection\n"
        "from .store import schema as t\n"
        "def f(conn):\n    return conn.execute(select(t.locks))\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", pkg)
    assert _sql_outside_store() == [
        "bad.py:1: imports select",
        "bad.py:2: imports the table definitions",
        "bad.py:4: calls .execute()",
    ]
