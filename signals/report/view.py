"""The view model: what both the Markdown and the HTML templates show, computed once from a
:class:`~signals.report.model.Digest` — table order, the summary, the "why" and Method texts,
which items fired, and every article split into the best ones (shown first) and the rest.
Plain, unescaped text: the templates escape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from signals.emerging import EmergingMap
from signals.report.fmt import (
    date_range,
    fmt_int,
    fmt_p,
    fmt_rate,
    fmt_ratio,
    iso,
    one_line,
    plural,
)
from signals.report.highlight import Segment, segments
from signals.report.model import (
    NEAR_LINE_PER_RUPTURE,
    Digest,
    DigestArticle,
    DigestRupture,
    ItemActivity,
)
from signals.score import ScoreParams, confidence_rule

MOVED = ("gaining", "new", "fading")
#: Articles of each list shown first in HTML; the rest are folded under ``<details>``.
MAX_ARTICLES = 10
KIND_LABELS = {
    "watch": "Signals to watch",
    "early_sign": "Early signs",
    "milestone": "Timeline milestones",
    "announcer": "Announcers",
    "doubt": "Reasons to doubt",
}
EVIDENCE_KIND_ORDER = ("watch", "early_sign", "milestone", "announcer")
_STATUS_CLASSES = ("gaining", "new", "steady", "fading", "quiet")


@dataclass(frozen=True)
class SentenceView:
    segments: tuple[Segment, ...]  # the sentence cut at what the matcher matched
    refs: tuple[int, ...]  # which of the article's ``items`` hit it (1-based)


@dataclass(frozen=True)
class ArticleView:
    article: DigestArticle
    n: int  # rank in its list, from 1
    items: tuple[str, ...]  # the distinct labels of every item that fired, in order
    sentences: tuple[SentenceView, ...]

    @property
    def numbered(self) -> bool:
        """Several items fired: they are numbered and each sentence names its numbers."""
        return len(self.items) > 1


@dataclass(frozen=True)
class ArticleList:
    """Every article of one list, best first; ``best`` are shown first, ``rest`` folded in HTML."""

    best: tuple[ArticleView, ...]
    rest: tuple[ArticleView, ...]

    @property
    def count(self) -> int:
        return len(self.best) + len(self.rest)


@dataclass(frozen=True)
class EmergingRow:
    """One row of the emerging-terms table, formatted (plain text: the templates escape)."""

    term: str
    kind: str  # word | entity
    quadrant: str  # its label: weak signal, strong signal, latent, well-known
    visibility: str  # "40% (4)": share of the window's evidence and articles
    growth: str  # "+2.1 (80% vs 10%)": the z-score, the last weeks' share vs the earlier weeks'
    watched: bool


@dataclass(frozen=True)
class EmergingView:
    map: EmergingMap
    rows: tuple[EmergingRow, ...]
    intro: str  # what the window and the axes are
    svg: str | None = None  # the scatter (signals.report.scatter), trusted markup


ItemGroup = tuple[str, tuple[ItemActivity, ...]]  # (kind label, its items, most active first)


@dataclass(frozen=True)
class RuptureView:
    n: int  # rank in the table
    rupture: DigestRupture
    status_class: str  # CSS class suffix, from a fixed list
    moved: bool
    why: str
    fired: tuple[ItemGroup, ...]  # evidence items that fired, by kind
    doubted: tuple[ItemGroup, ...]  # doubt items that fired
    top: tuple[ItemActivity, ...]  # the three most active evidence items (steady ruptures' line)
    evidence: ArticleList
    counter: ArticleList
    near: ArticleList  # evidence candidates just under the judge's threshold (not counted)
    chart_svg: str | None = None  # an inline SVG chart (signals.report.charts), trusted markup
    emerging: EmergingView | None = None  # emerging terms (when the map lists any)


@dataclass(frozen=True)
class DigestView:
    digest: Digest
    title: str
    summary: str
    rows: tuple[RuptureView, ...]  # every rupture, table order
    moved: tuple[RuptureView, ...]  # those with a section
    also: tuple[RuptureView, ...]  # steady with evidence: one line each
    near: tuple[RuptureView, ...]  # those with candidates near the line, table order
    near_intro: str
    method: tuple[str, ...]
    spark_top: int = 0  # the weekly count at full height in every rupture's sparkline (one scale)


def ordered(d: Digest) -> list[DigestRupture]:
    return sorted(d.ruptures, key=lambda r: (-r.score.momentum, -r.score.evidence, r.id))


def title_text(d: Digest) -> str:
    return f"Signals — week {d.week} ({date_range(d.start, d.end)})"


def summary_text(d: Digest) -> str:
    """The digest's one-paragraph summary, as plain (unescaped) text."""
    rs_ordered = ordered(d)
    groups = {s: [r for r in rs_ordered if r.score.status == s] for s in MOVED}
    verbs = {
        "gaining": ("is gaining evidence", "are gaining evidence"),
        "new": ("shows its first-ever evidence", "show their first-ever evidence"),
        "fading": ("is fading", "are fading"),
    }
    parts = []
    for status in MOVED:
        rs = groups[status]
        if rs:
            verb = verbs[status][0 if len(rs) == 1 else 1]
            titles = "; ".join(one_line(r.title) for r in rs)
            parts.append(f"{len(rs)} {verb} ({titles})")
    head = (
        f"Week {d.week} ({date_range(d.start, d.end)}): "
        f"{plural(d.articles_analysed, 'article')} analysed from "
        f"{plural(d.sources_active, 'active source')}."
    )
    total = len(rs_ordered)
    if not parts:
        steady = sum(r.score.status == "steady" for r in rs_ordered)
        return (
            f"{head} None of the {total} ruptures moved significantly: "
            f"{steady} steady, {total - steady} quiet."
        )
    moved = sum(len(g) for g in groups.values())
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    rest = total - moved
    return f"{head} Of the {total} ruptures, {listed}; {rest} {'is' if rest == 1 else 'are'} steady or quiet."


def near_line_text(d: Digest) -> str:
    return (
        "Evidence candidates of the week that the judge scored under its threshold but at least "
        f"{d.near_line_min_score:.2f}, best first, at most {NEAR_LINE_PER_RUPTURE} per rupture: "
        "in no count or status above. An analyst who confirms one (signals export --review "
        f"--all-candidates --min-score {d.near_line_min_score:.2f}, a verdict, then signals "
        "labels import) makes it count; one marked wrong leaves this list."
    )


def why_text(r: DigestRupture, params: ScoreParams) -> str:
    s = r.score
    text = (
        f"{plural(s.evidence, 'evidence article')} out of {fmt_int(s.analysed)} analysed "
        f"({fmt_rate(s.rate)} per 1,000) against {fmt_rate(s.baseline_rate)} per 1,000 over "
        f"the previous {params.baseline_weeks} weeks ({fmt_int(s.baseline_evidence)} of "
        f"{fmt_int(s.baseline_analysed)}); ratio {fmt_ratio(s.rate_ratio)}, one-sided "
        f"p = {fmt_p(s.p_value)}, q = {fmt_p(s.q_value)}; "
        f"{plural(s.sources, 'distinct source')}, "
        f"{plural(s.doubts, 'counter-evidence article')}."
    )
    if s.status == "new":
        text = "First evidence ever for this rupture. " + text
    if s.counter_rising:
        text += (
            f" Counter-evidence is rising: {plural(s.doubts, 'article')} against "
            f"{fmt_int(s.baseline_doubts)} over the baseline, one-sided p = {fmt_p(s.doubts_p)}."
        )
    return text


def method_text(d: Digest) -> tuple[str, ...]:
    p = d.params
    m = len(d.ruptures)
    return (
        "Evidence: distinct articles (near-duplicates collapsed) matching a rupture's signals "
        "to watch, early signs or timeline milestones; rate = evidence / articles analysed "
        + (
            "that week"
            if p.window_weeks == 1
            else f"in the {p.window_weeks} weeks ending with this one"
        )
        + f". Baseline: the same over the previous {p.baseline_weeks} weeks.",
        "Test: conditional exact binomial test of two Poisson rates (given the evidence in the "
        "whole window, how surprising is the share falling in this week), one-sided in the "
        "direction observed. Correction: Benjamini–Hochberg false discovery rate over both "
        f"directions of all {m} ruptures (q-values).",
        f"Evidence: articles the article-level judge accepts (a score and its reasons are shown "
        f"with each), minus those an analyst marked wrong, plus those an analyst confirmed. "
        f"Status: new on a rupture's first-ever week with evidence, with at least "
        f"{p.min_new_evidence} articles and {p.min_history_weeks} weeks of history; gaining with at least "
        f"{p.min_evidence} articles, a rate above baseline and the rupture's own p under "
        f"{p.screen_p:g} (a screening threshold: the confidence, from q, says how strong); fading with a "
        f"rate below baseline, the rupture's own p under {p.screen_p:g} and at least {p.min_evidence} baseline "
        f"articles; quiet with fewer than {p.min_evidence} articles in the whole window; "
        "steady otherwise.",
        confidence_rule(p) + " Table order: momentum, the signed −log10 p (up positive, down "
        "negative).",
        "Counter-evidence (articles matching a rupture's reasons to doubt) is shown beside the "
        "evidence and never subtracted from it. Every counted article is listed, best judge "
        "score first, with every sentence its items hit and the terms the matcher found "
        "highlighted.",
        f"Ruleset {one_line(d.ruleset_version)}; generated {iso(d.generated_at)}.",
    )


def items_by_kind(r: DigestRupture, kinds: Sequence[str]) -> tuple[ItemGroup, ...]:
    out = []
    for kind in kinds:
        items = sorted((i for i in r.items if i.kind == kind), key=lambda i: (-i.articles, i.label))
        if items:
            out.append((KIND_LABELS.get(kind, kind), tuple(items)))
    known = set(KIND_LABELS)
    others = [i for i in r.items if i.kind not in known]
    if others and "doubt" not in kinds:
        out.append(("Other items", tuple(sorted(others, key=lambda i: (-i.articles, i.label)))))
    return tuple(out)


def article_view(a: DigestArticle, n: int) -> ArticleView:
    labels = dict(zip(a.item_ids, a.item_labels, strict=False))
    items = tuple(dict.fromkeys(labels.get(i, i) for i in a.item_ids))
    number = {label: k for k, label in enumerate(items, 1)}
    if a.sentences:
        sentences = tuple(
            SentenceView(
                segments(s.text, s.spans),
                tuple(
                    sorted(
                        {number[labels.get(i, i)] for i in s.item_ids if labels.get(i, i) in number}
                    )
                ),
            )
            for s in a.sentences
        )
    elif a.sentence.strip():  # a digest written before spans were kept: the sentence, unmarked
        sentences = (SentenceView(segments(a.sentence, ()), ()),)
    else:
        sentences = ()
    return ArticleView(a, n, items, tuple(s for s in sentences if s.segments))


def article_list(articles: Sequence[DigestArticle], shown: int = MAX_ARTICLES) -> ArticleList:
    views = tuple(article_view(a, i) for i, a in enumerate(articles, 1))
    return ArticleList(best=views[:shown], rest=views[shown:])


def emerging_view(m: EmergingMap | None, svg: str | None = None) -> EmergingView | None:
    if m is None or not m.terms:
        return None
    rows = tuple(
        EmergingRow(
            term=t.term,
            kind=t.kind,
            quadrant=t.quadrant_label,
            visibility=f"{t.visibility:.0%} ({t.articles})",
            growth=f"{t.growth:+.1f} ({t.recent_share:.0%} vs {t.earlier_share:.0%})",
            watched=t.in_watch_list,
        )
        for t in m.terms
    )
    intro = (
        f"Words and names over-represented in this rupture's {plural(m.evidence, 'evidence article')} of "
        f"{m.first_week} to {m.last_week} against the {fmt_int(m.background)} articles analysed then "
        f"(log-odds z ≥ 1.96), best first. Visibility: share of that evidence mentioning it; growth: "
        f"how far its share of the last {m.recent_weeks} weeks' evidence ({fmt_int(m.recent_evidence)}) "
        f"exceeds its share before (z-score; shares in brackets). Weak signals: low visibility (not "
        f"above the mean, {m.visibility_split:.0%}, and under 50%), growth ≥ {m.growth_split:g}; "
        "strong: high, high; latent: low, low; well-known: high, low."
    )
    return EmergingView(m, rows, intro, svg)


def rupture_view(
    r: DigestRupture,
    n: int,
    params: ScoreParams,
    chart_svg: str | None = None,
    emerging_svg: str | None = None,
) -> RuptureView:
    status = r.score.status
    return RuptureView(
        n=n,
        rupture=r,
        status_class=status if status in _STATUS_CLASSES else "other",
        moved=status in MOVED,
        why=why_text(r, params),
        fired=items_by_kind(r, EVIDENCE_KIND_ORDER),
        doubted=items_by_kind(r, ("doubt",)),
        top=tuple(
            sorted((i for i in r.items if i.kind != "doubt"), key=lambda i: (-i.articles, i.label))[
                :3
            ]
        ),
        evidence=article_list(r.articles),
        counter=article_list(r.counter_evidence),
        near=article_list(r.near_line),
        chart_svg=chart_svg,
        emerging=emerging_view(r.emerging, emerging_svg),
    )


def digest_view(
    d: Digest, charts: Mapping[str, str] | None = None, scatters: Mapping[str, str] | None = None
) -> DigestView:
    """``charts``, ``scatters``: rupture id → an inline SVG built by our own code (feed text in
    it escaped): the trend chart and the emerging-terms map."""
    charts, scatters = charts or {}, scatters or {}
    rows = tuple(
        rupture_view(r, i, d.params, charts.get(r.id), scatters.get(r.id))
        for i, r in enumerate(ordered(d), 1)
    )
    return DigestView(
        digest=d,
        title=title_text(d),
        summary=summary_text(d),
        rows=rows,
        moved=tuple(v for v in rows if v.moved),
        also=tuple(
            v for v in rows if v.rupture.score.status == "steady" and v.rupture.score.evidence > 0
        ),
        near=tuple(v for v in rows if v.rupture.near_line),
        near_intro=near_line_text(d),
        method=method_text(d),
        spark_top=max((max(r.score.history, default=0) for r in d.ruptures), default=0),
    )
