"""`signals schema`: the committed JSON Schemas of both YAML files match the models (this test is
CI's check), accept the shipped files, flag what the models reject, and are referenced from the
first line of each file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from signals.cli import cli
from signals.config import load_scenarios, load_sources

REPO = Path(__file__).resolve().parents[1]
FILES = {"scenarios.yaml": "scenarios.schema.json", "sources.yaml": "sources.schema.json"}


def test_committed_schemas_match_the_models() -> None:
    res = CliRunner().invoke(cli, ["schema", "--check", "--dir", str(REPO / "schemas")])
    assert res.exit_code == 0, res.output


def test_check_fails_on_a_stale_or_missing_schema(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["schema", "--dir", str(tmp_path)])
    assert res.exit_code == 0 and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        FILES.values()
    )
    assert CliRunner().invoke(cli, ["schema", "--check", "--dir", str(tmp_path)]).exit_code == 0
    p = tmp_path / "sources.schema.json"
    p.write_text(p.read_text(encoding="utf-8").replace('"Source"', '"Src"'), encoding="utf-8")
    (tmp_path / "scenarios.schema.json").unlink()
    res = CliRunner().invoke(cli, ["schema", "--check", "--dir", str(tmp_path)])
    assert res.exit_code == 1
    assert "scenarios.schema.json" in res.output and "sources.schema.json" in res.output


@pytest.mark.parametrize("name", sorted(FILES))
def test_first_line_points_editors_at_the_schema(name: str) -> None:
    first = (REPO / name).read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema=./schemas/{FILES[name]}"
    assert (REPO / "schemas" / FILES[name]).is_file()


def test_loaders_accept_the_files() -> None:
    assert load_scenarios(REPO / "scenarios.yaml").ruptures
    assert load_sources(REPO / "sources.yaml").sources


@pytest.mark.parametrize("name", sorted(FILES))
def test_schema_accepts_the_file_and_flags_a_typo(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((REPO / "schemas" / FILES[name]).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    data = yaml.safe_load((REPO / name).read_text(encoding="utf-8"))
    assert list(validator.iter_errors(data)) == []
    key = "ruptures" if name == "scenarios.yaml" else "sources"
    data[key][0]["titel" if key == "ruptures" else "urll"] = "x"  # a typo: unknown key
    errors = list(validator.iter_errors(data))
    assert errors and "Additional properties are not allowed" in errors[0].message
