"""Config loading and `signals check`: every error names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from signals.cli import cli
from signals.config import load_scenarios, load_sources
from signals.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
version: 1
ruptures:
  - id: demo-rupture
    title: "Une rupture"
    watch:
      - id: w-one
        label: "un signal"
        any: ["monnaie locale"]
"""


def _check(tmp_path: Path, scenarios: str, sources: str | None = None) -> tuple[int, str]:
    sc = tmp_path / "scenarios.yaml"
    sc.write_text(scenarios, encoding="utf-8")
    so = tmp_path / "sources.yaml"
    so.write_text(sources or "sources: []\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["--scenarios", str(sc), "--sources", str(so), "check"])
    return res.exit_code, res.output + (res.stderr if hasattr(res, "stderr") else "")


def test_repository_files_pass_check() -> None:
    res = CliRunner().invoke(
        cli,
        [
            "--scenarios",
            str(REPO / "scenarios.yaml"),
            "--sources",
            str(REPO / "sources.yaml"),
            "check",
        ],
    )
    assert res.exit_code == 0, res.output
    assert res.output.startswith("ok: ")
    assert "ruptures" in res.output and "terms" in res.output


def test_good_file_summary(tmp_path: Path) -> None:
    code, out = _check(tmp_path, GOOD)
    assert code == 0, out
    assert "1 ruptures, 1 items, 1 terms" in out


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        (GOOD + "    bogus: 1\n", 9, "ruptures[0](demo-rupture).bogus", "unknown key"),
        (
            GOOD.replace("        any:", "        anyy:"),
            8,
            "ruptures[0](demo-rupture).watch[0](w-one).anyy",
            "unknown key",
        ),
        (
            GOOD.replace('any: ["monnaie locale"]', "any: []"),
            6,
            "ruptures[0](demo-rupture).watch[0](w-one)",
            "empty term list",
        ),
        (
            GOOD + GOOD.split("ruptures:\n")[1],
            9,
            "ruptures[1](demo-rupture).id",
            "duplicate rupture id",
        ),
        (GOOD.replace("title:", "title: [unclosed\n    x:"), 5, "(syntax)", "invalid YAML"),
        (
            GOOD.replace("demo-rupture", "Demo Rupture"),
            3,
            "ruptures[0](Demo Rupture).id",
            "kebab-case",
        ),
        (
            GOOD.replace("    title:", "    title: a\n    title:"),
            5,
            "ruptures[0].title",
            "duplicate key",
        ),
    ],
)
def test_broken_files_exit_2_naming_file_line_key(
    tmp_path: Path, text: str, line: int, key: str, message: str
) -> None:
    code, out = _check(tmp_path, text)
    assert code == 2, out
    path = str(tmp_path / "scenarios.yaml")
    wanted = [ln for ln in out.splitlines() if ln.startswith(f"error: {path}:")]
    assert wanted, out
    assert any(f":{line}: " in ln and key in ln and message in ln for ln in wanted), out


def test_term_that_normalises_to_nothing(tmp_path: Path) -> None:
    code, out = _check(tmp_path, GOOD.replace('any: ["monnaie locale"]', 'any: ["de la"]'))
    assert code == 2
    assert "normalises to nothing" in out and "w-one" in out


def test_duplicate_item_ids_across_ruptures(tmp_path: Path) -> None:
    second = GOOD.split("ruptures:\n")[1].replace("demo-rupture", "other-rupture")
    code, out = _check(tmp_path, GOOD + second)
    assert code == 2 and "duplicate item id 'w-one'" in out


def test_sources_errors(tmp_path: Path) -> None:
    src = "sources:\n  - id: a\n    name: A\n    url: ftp://x\n  - id: a\n    name: B\n    url: https://x.org/rss\n    langage: fr\n"
    code, out = _check(tmp_path, GOOD, src)
    assert code == 2
    assert "sources.yaml:4: sources[0](a).url" in out
    assert "sources.yaml:8: sources[1](a).langage: unknown key" in out


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        load_scenarios(tmp_path / "nope.yaml")
    assert "file not found" in str(e.value)


def test_empty_sources_file_is_valid(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text("", encoding="utf-8")
    assert load_sources(p).sources == []


def test_default_min_sentences_leaves_the_fingerprint_as_before(tmp_path: Path) -> None:
    """``min_sentences`` came after stores recorded their applied scenarios: at its default it is
    not in the canonical JSON, so a file that does not use it keeps the fingerprint those stores
    recorded (this one was computed before the field existed); set, it changes it."""
    path = tmp_path / "scenarios.yaml"
    path.write_text(GOOD, encoding="utf-8")
    plain = load_scenarios(path)
    assert "min_sentences" not in plain.canonical_json()
    assert plain.fingerprint() == "4bfdac606ce3"
    path.write_text(GOOD + "        min_sentences: 2\n", encoding="utf-8")
    themed = load_scenarios(path)
    assert '"min_sentences": 2' in themed.canonical_json()
    assert themed.fingerprint() != plain.fingerprint()
    path.write_text(GOOD + "        min_sentences: 1\n", encoding="utf-8")
    assert load_scenarios(path).fingerprint() == plain.fingerprint()
