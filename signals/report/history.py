"""The backtest's files in ``reports/history/``: ``index.html`` (one chart per rupture over the
whole period, its peaks and their top articles), ``weeks.csv`` and ``weeks.json`` (the weekly
table: one row per week and rupture). Article titles, URLs and sentences are untrusted: the
template autoescapes and links only through ``safe_url``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from signals.backtest import Backtest
from signals.report.charts import chart_week, rupture_chart, shared_scale
from signals.report.files import atomic_write
from signals.report.html import html_env

COLUMNS = (
    "week",
    "rupture_id",
    "status",
    "confidence",
    "evidence",
    "analysed",
    "rate",
    "baseline_evidence",
    "baseline_analysed",
    "baseline_rate",
    "band_low",
    "band_high",
    "rate_ratio",
    "p_value",
    "q_value",
    "sources",
    "doubts",
    "momentum",
)


def week_rows(bt: Backtest) -> list[dict[str, Any]]:
    """The weekly table, week by week then in scenarios.yaml order."""
    rows = []
    for i, week in enumerate(bt.weeks):
        for r in bt.ruptures:
            s = r.scores[i]
            c = chart_week(s)
            rows.append(
                {
                    "week": week,
                    "rupture_id": r.id,
                    "status": s.status,
                    "confidence": s.confidence,
                    "evidence": s.evidence,
                    "analysed": s.analysed,
                    "rate": s.rate,
                    "baseline_evidence": s.baseline_evidence,
                    "baseline_analysed": s.baseline_analysed,
                    "baseline_rate": s.baseline_rate,
                    "band_low": c.band_low,
                    "band_high": c.band_high,
                    "rate_ratio": s.rate_ratio,
                    "p_value": s.p_value,
                    "q_value": s.q_value,
                    "sources": s.sources,
                    "doubts": s.doubts,
                    "momentum": s.momentum,
                }
            )
    return rows


def render_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def render_json(bt: Backtest, rows: list[dict[str, Any]]) -> str:
    doc = {
        "from": bt.start.isoformat(),
        "to": bt.end.isoformat(),
        "weeks": list(bt.weeks),
        "ruleset_version": bt.ruleset_version,
        "generated_at": bt.generated_at.isoformat(),
        "params": {
            "baseline_weeks": bt.params.baseline_weeks,
            "window_weeks": bt.params.window_weeks,
            "alpha": bt.params.alpha,
            "min_evidence": bt.params.min_evidence,
        },
        "ruptures": [
            {
                "id": r.id,
                "title": r.title,
                "peaks": [
                    {
                        "first_week": p.first_week,
                        "last_week": p.last_week,
                        "week": p.week,
                        "status": p.status,
                        "evidence": p.evidence,
                        "articles": [
                            {
                                "url": a.url,
                                "title": a.title,
                                "source": a.source,
                                "published": a.published.isoformat(),
                                "score": a.score,
                                "sentence": a.sentence,
                            }
                            for a in p.articles
                        ],
                    }
                    for p in r.peaks
                ],
            }
            for r in bt.ruptures
        ],
        "rows": rows,
    }
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def render_history(bt: Backtest) -> str:
    series = {r.id: [chart_week(s) for s in r.scores] for r in bt.ruptures}
    scale = shared_scale(series.values())
    sections = []
    for r in bt.ruptures:
        statuses = [s.status for s in r.scores]
        sections.append(
            {
                "r": r,
                "chart": rupture_chart(series[r.id], scale, label=r.title, width=900, height=120),
                "evidence": sum(
                    s.history[-1] for s in r.scores
                ),  # the week's own count, whatever the window
                "counter": sum(s.doubts for s in r.scores),
                "gaining": sum(1 for st in statuses if st in ("gaining", "new")),
                "fading": statuses.count("fading"),
            }
        )
    return (
        html_env()
        .get_template("history.html.j2")
        .render(
            bt=bt,
            sections=sections,
            scale_per_1000=scale * 1000,
            title=f"Signals — history {bt.start.isoformat()} to {bt.end.isoformat()}",
        )
    )


def write_history(bt: Backtest, out_dir: Path) -> list[Path]:
    """Write ``index.html``, ``weeks.csv`` and ``weeks.json`` into ``out_dir`` (all rendered first)."""
    rows = week_rows(bt)
    files = {
        "index.html": render_history(bt),
        "weeks.csv": render_csv(rows),
        "weeks.json": render_json(bt, rows),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        atomic_write(out_dir / name, text)
        paths.append(out_dir / name)
    return paths
