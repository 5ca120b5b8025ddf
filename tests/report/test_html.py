"""The HTML template: best articles first, the rest under <details>, marks from the spans
only, and the chart slot per rupture."""

from __future__ import annotations

import dataclasses

from signals.report import DigestSentence
from signals.report.html import marked, render_html

from ..test_report import DIGEST_ATTRS, DIGEST_TAGS, assert_safe_html, make_digest


def test_marked_escapes_every_piece() -> None:
    assert str(marked((("<b>", False), ("<i>", True)))) == "&lt;b&gt;<mark>&lt;i&gt;</mark>"


def test_best_first_then_the_rest_folded() -> None:
    html = render_html(make_digest(articles=13))
    assert "<h3>Evidence (13)</h3>" in html
    assert "<summary>3 more evidence articles</summary>" in html
    assert '<ol class="articles" start="11">' in html
    assert_safe_html(html, DIGEST_TAGS, DIGEST_ATTRS)


def test_only_the_spans_are_marked() -> None:
    d = make_digest()
    r = d.ruptures[0]
    a = dataclasses.replace(
        r.articles[0], sentences=(DigestSentence("Les chauffeurs ubérisés.", ((15, 23),)),)
    )
    d = dataclasses.replace(d, ruptures=(dataclasses.replace(r, articles=(a,)), *d.ruptures[1:]))
    html = render_html(d)
    assert "<blockquote>Les chauffeurs <mark>ubérisés</mark>.</blockquote>" in html


def test_chart_slot_per_rupture() -> None:
    d = make_digest()
    html = render_html(d, charts={"post-patrimonial": '<svg role="img"></svg>'})
    assert html.count('<div class="chart"><svg role="img"></svg></div>') == 1
    assert 'class="chart"' not in render_html(d)
