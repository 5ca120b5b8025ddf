"""The inline SVG charts: pure, one shared scale, the week and the statuses marked, no script,
and every untrusted string escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from signals.report.charts import ChartWeek, chart_week, rupture_chart, shared_scale
from signals.score import RuptureScore

SVG = "{http://www.w3.org/2000/svg}"


def week(
    w: str,
    evidence: int,
    analysed: int = 100,
    status: str = "steady",
    doubts: int = 0,
    base: float = 0.01,
) -> ChartWeek:
    return ChartWeek(
        week=w,
        evidence=evidence,
        analysed=analysed,
        doubts=doubts,
        rate=evidence / analysed if analysed else 0.0,
        baseline_rate=base,
        band_low=0.0,
        band_high=base * 2,
        status=status,
    )


def bars(svg: str) -> dict[str, float]:
    root = ET.fromstring(svg)
    out = {}
    for g in root.iter(f"{SVG}g"):
        rect = g.find(f"{SVG}rect[@class='evidence']")
        out[g.get("data-week", "")] = float(rect.get("height", "0")) if rect is not None else 0.0
    return out


def test_one_scale_for_every_chart() -> None:
    one = [week("2025-W01", 1, base=0.001), week("2025-W02", 0, base=0.001)]
    twelve = [week("2025-W01", 12, base=0.001), week("2025-W02", 0, base=0.001)]
    scale = shared_scale([one, twelve])
    assert scale == 0.12
    small, big = bars(rupture_chart(one, scale)), bars(rupture_chart(twelve, scale))
    assert big["2025-W01"] > 0 and abs(big["2025-W01"] / small["2025-W01"] - 12) < 0.01
    alone = bars(rupture_chart(one, shared_scale([one])))
    assert alone["2025-W01"] == big["2025-W01"], (
        "alone, one article fills the chart: hence the shared scale"
    )


def test_marks_current_week_band_and_counter_evidence() -> None:
    weeks = [
        week("2025-W01", 1),
        week("2025-W02", 5, status="gaining", doubts=2),
        week("2025-W03", 0, status="fading"),
        week("2025-W04", 2, status="new"),
    ]
    svg = str(rupture_chart(weeks, shared_scale([weeks]), current="2025-W02", label="Ma <rupture>"))
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert "Ma &lt;rupture&gt;" in svg and "<rupture>" not in svg
    current = [g for g in root.iter(f"{SVG}g") if "current" in (g.get("class") or "")]
    assert [g.get("data-week") for g in current] == ["2025-W02"]
    assert len(root.findall(f".//{SVG}path[@class='mark gain']")) == 2  # gaining and new
    assert len(root.findall(f".//{SVG}path[@class='mark fade']")) == 1
    assert len(root.findall(f".//{SVG}rect[@class='band']")) == 4
    assert len(root.findall(f".//{SVG}rect[@class='counter']")) == 1
    titles = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert any("2025-W02: 5 evidence, 2 counter-evidence of 100 analysed" in t for t in titles)
    assert "script" not in svg.lower() and " on" not in svg.replace(" on 1,000", "")


def test_empty_and_zero_scale() -> None:
    svg = str(rupture_chart([], 0.0))
    assert ET.fromstring(svg).tag == f"{SVG}svg"
    flat = [week("2025-W01", 0, analysed=0, base=0.0)]
    assert shared_scale([flat]) == 0.0
    assert bars(str(rupture_chart(flat, 0.0))) == {"2025-W01": 0.0}


def test_chart_week_band() -> None:
    s = RuptureScore(
        rupture_id="r",
        week="2025-W05",
        evidence=3,
        analysed=400,
        rate=3 / 400,
        baseline_evidence=8,
        baseline_analysed=3200,
        baseline_rate=0.0025,
        rate_ratio=3.0,
        p_value=0.01,
        q_value=0.02,
        direction="up",
        sources=2,
        doubts=1,
        status="gaining",
        confidence="medium",
        momentum=2.0,
        history=(0, 3),
    )
    c = chart_week(s)
    # expected 1 article this week: band 1 ± 2 → [0, 3] articles → [0, 0.0075]
    assert c.band_low == 0.0 and abs(c.band_high - 0.0075) < 1e-12
    assert c.doubt_rate == 1 / 400 and ChartWeek.from_dict(c.to_dict()) == c
