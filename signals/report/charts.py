"""Small inline SVG charts of a rupture's weekly evidence rate. Pure: data in, SVG text out.

One bar per week: the evidence rate (per 1,000 articles analysed) above the axis, the
counter-evidence rate below it; a grey band where the week's rate would fall if nothing had
changed (the baseline rate ± 2 standard deviations of a Poisson count of that week's size);
▲ above a ``gaining``/``new`` week, ▼ below a ``fading`` one; the digest's own week outlined.
Every chart of a page is drawn on one scale (:func:`shared_scale`), so the height of a bar
compares ruptures: one article never draws the same bar as twelve. No JavaScript: each bar has
an SVG ``<title>`` (a tooltip in every browser).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from signals.score import RuptureScore

__all__ = ["ChartWeek", "chart_week", "rupture_chart", "shared_scale"]

GAIN = ("gaining", "new")
EVIDENCE_COLOUR = "#2b6cb0"
COUNTER_COLOUR = "#c05621"
BAND_COLOUR = "#d9d9d9"
MARK_GAIN = "#2f855a"
MARK_FADE = "#b7791f"


@dataclass(frozen=True)
class ChartWeek:
    """One week of a rupture's chart (rates are articles per article analysed)."""

    week: str
    evidence: int
    analysed: int
    doubts: int
    rate: float
    baseline_rate: float
    band_low: float
    band_high: float
    status: str

    @property
    def doubt_rate(self) -> float:
        return self.doubts / self.analysed if self.analysed else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "evidence": self.evidence,
            "analysed": self.analysed,
            "doubts": self.doubts,
            "rate": self.rate,
            "baseline_rate": self.baseline_rate,
            "band_low": self.band_low,
            "band_high": self.band_high,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, o: dict[str, Any]) -> ChartWeek:
        return cls(
            week=str(o["week"]),
            evidence=int(o["evidence"]),
            analysed=int(o["analysed"]),
            doubts=int(o["doubts"]),
            rate=float(o["rate"]),
            baseline_rate=float(o["baseline_rate"]),
            band_low=float(o["band_low"]),
            band_high=float(o["band_high"]),
            status=str(o["status"]),
        )


def chart_week(s: RuptureScore) -> ChartWeek:
    """The chart's view of one week's score. With a window of several weeks, the rate and the
    band are those of the window ending this week (what the status was decided on)."""
    n, base = s.analysed, s.baseline_rate
    if n > 0:
        spread = 2 * math.sqrt(base * n) / n
        low, high = max(0.0, base - spread), base + spread
    else:
        low = high = base
    return ChartWeek(
        week=s.week,
        evidence=s.evidence,
        analysed=s.analysed,
        doubts=s.doubts,
        rate=s.rate,
        baseline_rate=base,
        band_low=low,
        band_high=high,
        status=s.status,
    )


def shared_scale(series: Iterable[Sequence[ChartWeek]]) -> float:
    """The largest value any chart of the page draws (0 when nothing): pass it to every chart."""
    top = 0.0
    for weeks in series:
        for w in weeks:
            top = max(top, w.rate, w.band_high, w.doubt_rate)
    return top


def _per_1000(rate: float) -> str:
    return f"{rate * 1000:.2f}"


def rupture_chart(
    weeks: Sequence[ChartWeek],
    scale: float,
    *,
    current: str | None = None,
    label: str = "",
    width: int = 520,
    height: int = 90,
) -> Markup:
    """An inline ``<svg>`` of ``weeks`` (oldest first) on ``scale`` (from :func:`shared_scale`)."""
    n = max(len(weeks), 1)
    pad_top, pad_bottom, mark = 10, 4, 6
    plot = height - pad_top - pad_bottom
    axis = pad_top + plot * 0.75  # evidence above (3/4), counter-evidence below (1/4)
    up, down = axis - pad_top, height - pad_bottom - axis
    step = width / n
    bar = max(step * 0.8, 0.5)
    top = scale if scale > 0 else 1.0

    def y(rate: float, room: float) -> float:
        return min(rate / top, 1.0) * room

    def f(v: float) -> str:
        return f"{v:.2f}".rstrip("0").rstrip(".")

    parts: list[str] = []
    # the baseline band: one rectangle per week
    for i, w in enumerate(weeks):
        x = i * step
        lo, hi = y(w.band_low, up), y(w.band_high, up)
        if hi > lo:
            parts.append(
                f'<rect class="band" x="{f(x)}" y="{f(axis - hi)}" width="{f(step)}" '
                f'height="{f(hi - lo)}" fill="{BAND_COLOUR}"/>'
            )
    for i, w in enumerate(weeks):
        x = i * step + (step - bar) / 2
        tip = escape(
            f"{w.week}: {w.evidence} evidence, {w.doubts} counter-evidence of {w.analysed} analysed; "
            f"rate {_per_1000(w.rate)} vs baseline {_per_1000(w.baseline_rate)} per 1,000; {w.status}"
        )
        h = y(w.rate, up)
        cls = "week current" if w.week == current else "week"
        stroke = ' stroke="#000" stroke-width="1.5"' if w.week == current else ""
        parts.append(
            f'<g class="{cls}" data-week="{escape(w.week)}" data-status="{escape(w.status)}">'
            f"<title>{tip}</title>"
        )
        if h > 0:
            parts.append(
                f'<rect class="evidence" x="{f(x)}" y="{f(axis - h)}" width="{f(bar)}" height="{f(h)}" '
                f'fill="{EVIDENCE_COLOUR}"{stroke}/>'
            )
        d = y(w.doubt_rate, down)
        if d > 0:
            parts.append(
                f'<rect class="counter" x="{f(x)}" y="{f(axis)}" width="{f(bar)}" height="{f(d)}" '
                f'fill="{COUNTER_COLOUR}"/>'
            )
        cx = x + bar / 2
        if w.status in GAIN:
            ty = max(axis - h - 1, mark)
            parts.append(
                f'<path class="mark gain" d="M{f(cx - mark / 2)} {f(ty)}h{f(mark)}l{f(-mark / 2)} '
                f'{f(-mark)}z" fill="{MARK_GAIN}"/>'
            )
        elif w.status == "fading":
            parts.append(
                f'<path class="mark fade" d="M{f(cx - mark / 2)} {f(axis + 1)}h{f(mark)}l{f(-mark / 2)} '
                f'{f(mark)}z" fill="{MARK_FADE}"/>'
            )
        if w.week == current:
            parts.append(
                f'<line class="now" x1="{f(cx)}" x2="{f(cx)}" y1="0" y2="{height}" stroke="#000" '
                'stroke-dasharray="2 2" stroke-width="0.8"/>'
            )
        parts.append("</g>")
    parts.append(
        f'<line class="axis" x1="0" x2="{width}" y1="{f(axis)}" y2="{f(axis)}" stroke="#555" '
        'stroke-width="0.6"/>'
    )
    desc = (
        f"{label + ': ' if label else ''}weekly evidence rate over {len(weeks)} weeks"
        + (f" ({weeks[0].week} to {weeks[-1].week})" if weeks else "")
        + f"; top of the scale {_per_1000(scale)} per 1,000 articles"
    )
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(desc)}" data-scale="{scale!r}">'
        f"<title>{escape(desc)}</title>" + "".join(parts) + "</svg>"
    )
