"""``signals.idle_token``: one token per configuration, trusted only while the code and the
configuration files are those it was written with."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from signals import idle_token
from signals.idle_token import Config, Token
from signals.store.idle_check import DbFacts


def _config(tmp_path: Path, **changes: str | None) -> Config:
    for name in ("sources.yaml", "scenarios.yaml"):
        if not (tmp_path / name).exists():
            (tmp_path / name).write_text(f"# {name}\n", encoding="utf-8")
    c = Config.of(
        f"sqlite:///{tmp_path / 's.db'}",
        tmp_path / "sources.yaml",
        tmp_path / "scenarios.yaml",
        None,
        tmp_path / "cache",
    )
    return c._replace(**changes)


def _token(config: Config) -> Token:
    return Token(
        config,
        idle_token.code_fingerprint(),
        idle_token.file_digests(config),
        DbFacts("0006", "abc", {"ruleset_version": "d1", "absent": None}),
        90,
        "fetch",
        ["fetch: 0 due", "process: 0 analysed"],
    )


def _write(token: Token) -> None:
    path = token.config.token_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(idle_token.dumps(token))


def test_a_token_reads_back_for_its_configuration_only(tmp_path: Path) -> None:
    config = _config(tmp_path)
    token = _token(config)
    _write(token)
    assert idle_token.read(config) == token
    assert idle_token.still_valid(token)
    other = _config(tmp_path, db_url=f"sqlite:///{tmp_path / 'other.db'}")
    assert other.token_path() != config.token_path()
    assert idle_token.read(other) is None
    config.token_path().write_bytes(idle_token.dumps(token._replace(config=other)))
    assert idle_token.read(config) is None  # a token under another configuration's name


def test_the_judge_is_a_configuration_file(tmp_path: Path) -> None:
    (tmp_path / "judge.json").write_text("{}", encoding="utf-8")
    config = _config(tmp_path, judge=str(tmp_path / "judge.json"))
    assert config.files()[-1] == str(tmp_path / "judge.json")
    assert _config(tmp_path).files() == [
        str(tmp_path / "sources.yaml"),
        str(tmp_path / "scenarios.yaml"),
    ]


@pytest.mark.parametrize("text", ["", "{", "[]", '{"format": 1}', "\xff"])
def test_an_unreadable_token_is_none(tmp_path: Path, text: str) -> None:
    config = _config(tmp_path)
    config.token_path().parent.mkdir(parents=True)
    config.token_path().write_text(text, encoding="latin-1")
    assert idle_token.read(config) is None


def test_an_edited_or_missing_file_makes_it_stale(tmp_path: Path) -> None:
    config = _config(tmp_path)
    token = _token(config)
    (tmp_path / "scenarios.yaml").write_text("# scenarios.yaml\n", encoding="utf-8")  # same bytes
    assert idle_token.still_valid(token)
    (tmp_path / "scenarios.yaml").write_text("# edited\n", encoding="utf-8")
    assert not idle_token.still_valid(token)
    (tmp_path / "scenarios.yaml").unlink()
    assert not idle_token.still_valid(token)


def test_the_code_fingerprint_follows_the_package_and_site_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "__pycache__").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n", encoding="utf-8")
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    first = idle_token.code_fingerprint(str(pkg))
    (pkg / "__pycache__" / "a.pyc").write_bytes(b"compiled")  # not code
    assert idle_token.code_fingerprint(str(pkg)) == first
    st = os.stat(pkg / "a.py")
    os.utime(pkg / "a.py", ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    touched = idle_token.code_fingerprint(str(pkg))
    assert touched != first
    (site / "newlib-1.0.dist-info").mkdir()
    os.utime(site, ns=(1, 1))  # the listing changed (and its time, whatever the clock's grain)
    assert idle_token.code_fingerprint(str(pkg)) != touched
