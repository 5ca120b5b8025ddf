"""`signals tune`: per-item counts, dead and noisy items, examples, per-year counts, candidates."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from signals.cli import cli

SCEN = """\
ruptures:
  - id: pp
    title: P
    watch:
      - {id: w-monnaie, label: l, any: ["monnaie locale"]}
      - {id: w-jamais, label: l, any: ["zyxwvut"], comment: "the seed's wording; kept for recall"}
      - {id: w-bruit, label: l, any: ["ville"]}
"""


def _corpus(tmp_path: Path) -> Path:
    lines = []
    for i in range(60):
        year = 2014 + i % 3
        text = "La ville change."
        if i % 6 == 0:
            text += " Une monnaie locale arrive, soutenue par la coopérative citoyenne."
        lines.append(json.dumps({"url": f"https://ex.org/{i}", "title": f"T{i}", "description": text,
                                 "date": f"{year}-03-0{1 + i % 7}", "source": "x"}))
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(lines) + "\n{broken\n", encoding="utf-8")
    return p


def test_tune_json_and_text(tmp_path: Path) -> None:
    sc = tmp_path / "s.yaml"
    sc.write_text(SCEN, encoding="utf-8")
    corpus = _corpus(tmp_path)
    args = ["--scenarios", str(sc), "tune", "--corpus", str(corpus), "--field", "text=description",
            "--field", "published=date", "--noisy", "0.5"]
    # the broken last line: an error naming it, as for `import`, unless --skip-invalid
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 2
    assert res.output.strip().splitlines() == [
        f"error: {corpus}:61: not JSON (Expecting property name enclosed in double quotes) "
        "(pass --skip-invalid to skip bad lines)"]
    args.append("--skip-invalid")
    res = CliRunner().invoke(cli, [*args, "--json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    assert rep["articles"] == 60
    items = {i["item_id"]: i for i in rep["items"]}
    assert items["w-monnaie"]["articles"] == 10 and items["w-monnaie"]["status"] == "ok"
    assert items["w-monnaie"]["examples"][0].startswith("Une monnaie locale arrive")
    assert rep["dead"] == ["w-jamais"] and rep["noisy"] == ["w-bruit"]
    pp = rep["ruptures"][0]
    assert sum(pp["by_year"].values()) == 60  # w-bruit is evidence too
    assert "cooperative" in [c[0] for c in pp["candidates"]] or pp["candidates"] == []
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0
    assert "DEAD" in res.output and "why it stays: the seed's wording" in res.output and "NOISY" in res.output
    res = CliRunner().invoke(cli, [*args, "--fail-on-noisy"])
    assert res.exit_code == 1
