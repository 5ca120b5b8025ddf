"""The HTML digest, from ``templates/digest.html.j2``: self-contained (inline CSS, no script,
no external resource, a restrictive CSP), autoescaped, links only through ``safe_url``.

The only markup not escaped by the template is built here (the highlighted sentence, from
escaped pieces) or is a chart our own code drew (``charts``, the emerging-terms scatter)."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jinja2
from markupsafe import Markup, escape

from signals.report.charts import rupture_chart, shared_scale
from signals.report.highlight import Segment
from signals.report.jinja import environment
from signals.report.model import Digest
from signals.report.scatter import emerging_chart
from signals.report.view import digest_view


def marked(segments: tuple[Segment, ...]) -> Markup:
    """The sentence, escaped, with what the matcher matched in ``<mark>``."""
    return Markup("").join(
        Markup("<mark>{}</mark>").format(s) if matched else escape(s) for s, matched in segments
    )


@functools.cache
def html_env() -> jinja2.Environment:
    env = environment(autoescape=True)
    env.filters.update(marked=marked)
    return env


def render_html(
    d: Digest, charts: Mapping[str, str] | None = None, current_ruleset: str | None = None
) -> str:
    """``charts``: rupture id → inline SVG drawn by our own code, shown in its section (default:
    each rupture's 52-week trend, on one scale for all). With ``current_ruleset`` different from
    the digest's, a notice says it was written with another ruleset and how to regenerate it."""
    scale = shared_scale(r.trend for r in d.ruptures)
    if charts is None:
        charts = {
            r.id: str(rupture_chart(r.trend, scale, current=d.week, label=r.title))
            for r in d.ruptures
            if r.trend
        }
    scatters = {
        r.id: str(emerging_chart(r.emerging, label=r.title))
        for r in d.ruptures
        if r.emerging is not None and r.emerging.terms
    }
    return (
        html_env()
        .get_template("digest.html.j2")
        .render(
            v=digest_view(d, charts, scatters),
            current_ruleset=current_ruleset,
            trend_weeks=max((len(r.trend) for r in d.ruptures), default=0),
            scale_per_1000=scale * 1000,
        )
    )
