"""The emerging-terms map as a small inline SVG scatter (pure: data in, SVG text out).

Visibility on x, growth on y, the quadrant lines (the visibility split, the growth split) dashed,
each quadrant named in its corner, one dot per term coloured by quadrant with an SVG
``<title>`` (a tooltip in every browser, no JavaScript), and the labels of the best few terms.
Every string from the data is escaped."""

from __future__ import annotations

from markupsafe import Markup, escape

from signals.emerging import HIGH_VISIBILITY, EmergingMap

__all__ = ["emerging_chart"]

QUADRANT_COLOURS = {
    "weak": "#2f855a",
    "strong": "#2b6cb0",
    "latent": "#a0aec0",
    "well-known": "#b7791f",
}
LABELS = 6  # terms labelled on the chart (best keyness first); the rest have a tooltip


def _f(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def emerging_chart(
    m: EmergingMap, *, label: str = "", width: int = 420, height: int = 260, labels: int = LABELS
) -> Markup:
    left, right, top, bottom = 34, 12, 12, 30
    pw, ph = width - left - right, height - top - bottom
    xs = [t.visibility for t in m.terms]
    ys = [t.growth for t in m.terms]
    x_max = min(max([*xs, m.visibility_split, 0.05]) * 1.08, 1.0)
    y_lo = min([*ys, m.growth_split - 1.0, -1.0]) - 0.3
    y_hi = max([*ys, m.growth_split + 1.0]) + 0.3

    def x(v: float) -> float:
        return left + v / x_max * pw

    def y(v: float) -> float:
        return top + (y_hi - v) / (y_hi - y_lo) * ph

    parts = [
        f'<rect class="plot" x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#ccc" '
        'stroke-width="0.6"/>'
    ]
    vx, gy = x(min(m.visibility_split, HIGH_VISIBILITY)), y(m.growth_split)
    parts.append(
        f'<line class="split visibility" x1="{_f(vx)}" x2="{_f(vx)}" y1="{top}" y2="{top + ph}" '
        'stroke="#777" stroke-dasharray="3 3" stroke-width="0.8"/>'
    )
    parts.append(
        f'<line class="split growth" x1="{left}" x2="{left + pw}" y1="{_f(gy)}" y2="{_f(gy)}" '
        'stroke="#777" stroke-dasharray="3 3" stroke-width="0.8"/>'
    )
    corner = 'font-size="9" fill="#888"'
    parts += [
        f'<text class="tick" x="{left - 3}" y="{_f(gy + 3)}" text-anchor="end" {corner}>{m.growth_split:g}</text>',
        f'<text class="tick" x="{_f(vx)}" y="{top + ph + 10}" text-anchor="middle" {corner}>'
        f"{min(m.visibility_split, HIGH_VISIBILITY):.0%}</text>",
    ]
    parts += [
        f'<text class="quadrant" x="{left + 3}" y="{top + 10}" {corner}>weak signals</text>',
        f'<text class="quadrant" x="{left + pw - 3}" y="{top + 10}" text-anchor="end" {corner}>strong signals</text>',
        f'<text class="quadrant" x="{left + 3}" y="{top + ph - 4}" {corner}>latent</text>',
        f'<text class="quadrant" x="{left + pw - 3}" y="{top + ph - 4}" text-anchor="end" {corner}>well-known</text>',
    ]
    placed: list[tuple[float, float, float]] = []  # labels drawn: x from, x to, baseline
    for i, t in enumerate(m.terms):
        cx, cy = x(t.visibility), y(t.growth)
        colour = QUADRANT_COLOURS.get(t.quadrant, "#555")
        tip = escape(
            f"{t.term}: {t.quadrant_label}; in {t.articles} of {m.evidence} evidence articles "
            f"({t.visibility:.0%}); growth {t.growth:+.1f} ({t.recent_share:.0%} of the last "
            f"{m.recent_weeks} weeks' evidence vs {t.earlier_share:.0%} before)"
            + ("; in the watch list" if t.in_watch_list else "")
        )
        ring = ' stroke="#000" stroke-width="1"' if t.in_watch_list else ""
        parts.append(
            f'<g class="term" data-quadrant="{escape(t.quadrant)}"><title>{tip}</title>'
            f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="3.5" fill="{colour}"{ring}/>'
        )
        if i < labels:
            text = t.term[:28]
            anchor = "end" if cx > left + pw * 0.7 else "start"
            dx = -5 if anchor == "end" else 5
            w = 5.5 * len(text)
            x0 = cx + dx - (w if anchor == "end" else 0)
            for dy in (3, 14, -8, 25, -19):  # beside the dot, else a line below or above
                box = (x0, x0 + w, cy + dy)
                if not any(
                    a < box[1] and box[0] < b and abs(ly - box[2]) < 10 for a, b, ly in placed
                ):
                    placed.append(box)
                    parts.append(
                        f'<text class="label" x="{_f(cx + dx)}" y="{_f(cy + dy)}" '
                        f'text-anchor="{anchor}" font-size="10" fill="#222">{escape(text)}</text>'
                    )
                    break
        parts.append("</g>")
    axis = 'font-size="9" fill="#555"'
    parts += [
        f'<text class="axis" x="{left + pw / 2:.0f}" y="{height - 4}" text-anchor="middle" {axis}>'
        f"visibility: share of the evidence (0 to {x_max:.0%})</text>",
        f'<text class="axis" x="10" y="{top + ph / 2:.0f}" text-anchor="middle" transform="rotate(-90 10 '
        f'{top + ph / 2:.0f})" {axis}>growth (z)</text>',
    ]
    desc = (
        f"{label + ': ' if label else ''}emerging terms of {m.evidence} evidence articles, "
        f"{m.first_week} to {m.last_week}: visibility against growth (last {m.recent_weeks} weeks vs before)"
    )
    return Markup(
        f'<svg class="emerging-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(desc)}">'
        f"<title>{escape(desc)}</title>" + "".join(parts) + "</svg>"
    )
