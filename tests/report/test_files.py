"""write_digest: the five files, and the per-rupture charts reach the HTML only."""

from __future__ import annotations

from pathlib import Path

from signals.report.files import write_digest

from ..test_report import make_digest


def test_charts_reach_the_html_only(tmp_path: Path) -> None:
    paths = write_digest(make_digest(), tmp_path, charts={"post-patrimonial": "<svg>chart</svg>"})
    assert [p.name for p in paths] == [
        "2022-W10.md",
        "2022-W10.html",
        "2022-W10.json",
        "index.html",
        "feed.atom",
    ]
    assert '<div class="chart"><svg>chart</svg></div>' in (tmp_path / "2022-W10.html").read_text(
        encoding="utf-8"
    )
    assert "chart" not in (tmp_path / "2022-W10.md").read_text(encoding="utf-8")
