"""`signals process --limit N` processes exactly N articles, whatever the batch size."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from signals.cli import cli

SCENARIOS = """\
ruptures:
  - id: post-patrimonial
    title: Post-patrimonial
    watch:
      - {id: pp-monnaie, label: monnaies locales, any: ["monnaie locale"]}
"""


def test_limit_is_exact_across_batches(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(
            json.dumps(
                {
                    "url": f"https://ex.org/{i}",
                    "title": f"Article {i}",
                    "text": f"Texte numéro {i}.",
                    "published": "2024-01-02",
                    "source": "ex",
                }
            )
            + "\n"
            for i in range(40)
        ),
        encoding="utf-8",
    )
    (tmp_path / "scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    base = [
        "--db",
        f"sqlite:///{tmp_path / 's.db'}",
        "--scenarios",
        str(tmp_path / "scenarios.yaml"),
        "--now",
        "2024-01-05",
    ]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "import", str(corpus)]).exit_code == 0
    res = runner.invoke(cli, [*base, "process", "--limit", "33"])  # one batch of 32, then 1
    assert res.exit_code == 0, res.output
    assert "process: 33 analysed" in res.output
    res = runner.invoke(cli, [*base, "process", "--limit", "5"])
    assert "process: 5 analysed" in res.output
    res = runner.invoke(cli, [*base, "process"])
    assert "process: 2 analysed" in res.output
