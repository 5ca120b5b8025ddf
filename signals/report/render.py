"""Render a :class:`~signals.report.model.Digest` as JSON, Markdown and HTML, and write the
weekly files, the index page and the Atom feed into ``reports/``.

Layout of a digest (Markdown and HTML alike):

1. a title with the ISO week and its dates, and a one-paragraph summary;
2. a table of *all* ruptures sorted by momentum (:func:`signals.score.momentum_order`);
3. a section per rupture that moved (status ``gaining``, ``new`` or ``fading``): why (the
   statistics and which watch items / early signs / milestones fired, with counts), the best
   articles (at most :data:`MAX_ARTICLES`; the JSON has them all) with the matching sentence and
   its terms highlighted, and the counter-evidence beside them, never netted out; then one
   line per *steady* rupture that still had evidence, so nothing seen is hidden;
4. a Method note (baseline, test, correction, status and confidence rules).

Everything that came from a feed is untrusted. HTML goes through Jinja2 with autoescape on,
is self-contained (inline CSS, no scripts, no external resources, a restrictive CSP) and links
only http/https URLs (:func:`safe_url`); anything else is shown as plain text. Markdown escapes
Markdown- and HTML-significant characters itself and links only http/https URLs too.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import tempfile
import unicodedata
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup, escape

from signals.report.charts import ChartWeek, rupture_chart, shared_scale
from signals.report.model import Digest, DigestArticle, DigestRupture, ItemActivity
from signals.score import InvalidWeekError, RuptureScore, ScoreParams, week_bounds

__all__ = [
    "MAX_ARTICLES",
    "digest_from_json",
    "digest_to_dict",
    "render_html",
    "render_json",
    "render_markdown",
    "safe_url",
    "sparkline",
    "write_digest",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_ARTICLES = 10  # per list in Markdown/HTML; the JSON carries every article
MOVED = ("gaining", "new", "fading")
SPARK = "▁▂▃▄▅▆▇█"
KIND_LABELS = {
    "watch": "Signals to watch",
    "early_sign": "Early signs",
    "milestone": "Timeline milestones",
    "announcer": "Announcers",
    "doubt": "Reasons to doubt",
}
_EVIDENCE_KIND_ORDER = ("watch", "early_sign", "milestone", "announcer")
_WEEK_FILE = re.compile(r"([0-9]{4}-W[0-9]{2})\.json")
_TEMPLATES = Path(__file__).parent / "templates"
ATOM_NS = "http://www.w3.org/2005/Atom"


# --------------------------------------------------------------------------- small helpers


def safe_url(url: str) -> str | None:
    """The URL to put in a link, or ``None`` when it must not be linked.

    Only absolute ``http``/``https`` URLs with a host; anything carrying whitespace or control
    characters is refused rather than repaired (browsers strip tabs and newlines, which is how
    ``java\\tscript:`` tricks work). Characters that are unsafe in a link destination (``<``,
    ``>``, quotes, backslashes, non-ASCII) are percent-encoded.
    """
    if not isinstance(url, str) or not url or len(url) > 8192:
        return None
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if url[: len(parts.scheme) + 3].lower() not in ("http://", "https://"):
        return None
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def sparkline(history: Sequence[int]) -> str:
    """One bar per week, scaled to the largest; any evidence shows above the floor ``▁``."""
    top = max(history, default=0)
    if top <= 0:
        return SPARK[0] * len(history)
    return "".join(SPARK[0] if v <= 0 else SPARK[1 + round(v / top * 6)] for v in history)


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime in a digest: {dt!r}")
    return dt.astimezone(UTC)


def _iso(dt: datetime) -> str:
    return _utc(dt).isoformat()


def _day(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%d")


def _date_range(start: datetime, end: datetime) -> str:
    """``14–20 February 2022`` (``end`` is exclusive)."""
    a, b = _utc(start), _utc(end) - timedelta(days=1)
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {b:%B %Y}"
    if a.year == b.year:
        return f"{a.day} {a:%B} – {b.day} {b:%B %Y}"
    return f"{a.day} {a:%B %Y} – {b.day} {b:%B %Y}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _fmt_rate(rate: float) -> str:
    return f"{rate * 1000:,.1f}"


def _fmt_ratio(ratio: float | None) -> str:
    return "—" if ratio is None else f"×{ratio:,.1f}"


def _fmt_p(p: float) -> str:
    if p <= 0.0:
        return "< 1e-300"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.3f}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{_fmt_int(n)} {word if n == 1 else (plural or word + 's')}"


def _ordered(d: Digest) -> list[DigestRupture]:
    return sorted(d.ruptures, key=lambda r: (-r.score.momentum, -r.score.evidence, r.id))


# --------------------------------------------------------------------------- highlighting


def _fold(text: str) -> tuple[str, list[int]]:
    """Case- and accent-folded text, with the index in ``text`` of every folded character."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKD", ch.casefold()):
            if not unicodedata.combining(c):
                out.append(c)
                where.append(i)
    return "".join(out), where


def _term_pattern(term: str) -> str | None:
    tokens = [t for t in re.split(r"\W+", _fold(term)[0]) if t]
    if not tokens:
        return None
    # Short inflection tolerance ("monnaie locale" finds "monnaies locales") on longer words.
    parts = [re.escape(t) + (r"\w{0,3}" if len(t) >= 4 else "") for t in tokens]
    return r"(?<!\w)" + r"\W+".join(parts) + r"(?!\w)"


def highlight(sentence: str, terms: Iterable[str]) -> list[tuple[str, bool]]:
    """Split ``sentence`` into ``(text, matched)`` segments; matching ignores case, accents and
    short inflectional endings. Overlapping matches merge."""
    folded, where = _fold(sentence)
    spans: list[tuple[int, int]] = []
    for term in terms:
        pattern = _term_pattern(str(term))
        if pattern is None:
            continue
        for m in re.finditer(pattern, folded):
            if m.end() > m.start():
                spans.append((where[m.start()], where[m.end() - 1] + 1))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    segments: list[tuple[str, bool]] = []
    pos = 0
    for start, end in merged:
        if start > pos:
            segments.append((sentence[pos:start], False))
        segments.append((sentence[start:end], True))
        pos = end
    if pos < len(sentence):
        segments.append((sentence[pos:], False))
    return segments


# --------------------------------------------------------------------------- summary text


def summary_text(d: Digest) -> str:
    """The digest's one-paragraph summary, as plain (unescaped) text."""
    ordered = _ordered(d)
    groups = {s: [r for r in ordered if r.score.status == s] for s in MOVED}
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
            titles = "; ".join(_one_line(r.title) for r in rs)
            parts.append(f"{len(rs)} {verb} ({titles})")
    head = (
        f"Week {d.week} ({_date_range(d.start, d.end)}): "
        f"{_plural(d.articles_analysed, 'article')} analysed from "
        f"{_plural(d.sources_active, 'active source')}."
    )
    total = len(ordered)
    if not parts:
        steady = sum(r.score.status == "steady" for r in ordered)
        return (
            f"{head} None of the {total} ruptures moved significantly: "
            f"{steady} steady, {total - steady} quiet."
        )
    moved = sum(len(g) for g in groups.values())
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    rest = total - moved
    return f"{head} Of the {total} ruptures, {listed}; {rest} {'is' if rest == 1 else 'are'} steady or quiet."


def _why_text(r: DigestRupture, params: ScoreParams) -> str:
    s = r.score
    text = (
        f"{_plural(s.evidence, 'evidence article')} out of {_fmt_int(s.analysed)} analysed "
        f"({_fmt_rate(s.rate)} per 1,000) against {_fmt_rate(s.baseline_rate)} per 1,000 over "
        f"the previous {params.baseline_weeks} weeks ({_fmt_int(s.baseline_evidence)} of "
        f"{_fmt_int(s.baseline_analysed)}); ratio {_fmt_ratio(s.rate_ratio)}, one-sided "
        f"p = {_fmt_p(s.p_value)}, q = {_fmt_p(s.q_value)}; "
        f"{_plural(s.sources, 'distinct source')}, "
        f"{_plural(s.doubts, 'counter-evidence article')}."
    )
    if s.status == "new":
        text = "First evidence ever for this rupture. " + text
    return text


def _method_text(d: Digest) -> list[str]:
    p = d.params
    m = len(d.ruptures)
    return [
        "Evidence: distinct articles (near-duplicates collapsed) matching a rupture's signals "
        "to watch, early signs or timeline milestones; rate = evidence / articles analysed "
        f"that week. Baseline: the same over the previous {p.baseline_weeks} weeks.",
        "Test: conditional exact binomial test of two Poisson rates (given the evidence in the "
        "whole window, how surprising is the share falling in this week), one-sided in the "
        "direction observed. Correction: Benjamini–Hochberg false discovery rate over both "
        f"directions of all {m} ruptures (q-values).",
        f"Evidence: articles the article-level judge accepts (a score and its reasons are shown "
        f"with each), minus those an analyst marked wrong, plus those an analyst confirmed. "
        f"Status: new on a rupture's first-ever week with evidence, with at least "
        f"{p.min_new_evidence} articles and {p.min_history_weeks} weeks of history; gaining with at least "
        f"{p.min_evidence} articles, a rate above baseline and q under {p.alpha:g}; fading with a "
        f"rate below baseline, q under {p.alpha:g} and at least {p.min_evidence} baseline "
        f"articles; quiet with fewer than {p.min_evidence} articles in the whole window; "
        "steady otherwise.",
        f"Confidence: high when q under {p.alpha / 5:g}, from at least 3 distinct sources and not "
        f"outnumbered by counter-evidence; medium when q under {p.alpha:g} or at least "
        f"{p.min_evidence} articles from 2 or more sources; low otherwise. Table order: "
        "momentum, the signed −log10 p (up positive, down negative).",
        "Counter-evidence (articles matching a rupture's reasons to doubt) is shown beside the "
        "evidence and never subtracted from it.",
        f"Ruleset {_one_line(d.ruleset_version)}; generated {_iso(d.generated_at)}.",
    ]


def _items_by_kind(r: DigestRupture, kinds: Sequence[str]) -> list[tuple[str, list[ItemActivity]]]:
    out = []
    for kind in kinds:
        items = sorted((i for i in r.items if i.kind == kind), key=lambda i: (-i.articles, i.label))
        if items:
            out.append((KIND_LABELS.get(kind, kind), items))
    known = set(KIND_LABELS)
    others = [i for i in r.items if i.kind not in known]
    if others and "doubt" not in kinds:
        out.append(("Other items", sorted(others, key=lambda i: (-i.articles, i.label))))
    return out


# --------------------------------------------------------------------------- JSON


def _article_dict(a: DigestArticle) -> dict[str, Any]:
    return {
        "url": a.url,
        "title": a.title,
        "source": a.source,
        "published": _iso(a.published),
        "item_ids": list(a.item_ids),
        "item_labels": list(a.item_labels),
        "kinds": list(a.kinds),
        "sentence": a.sentence,
        "terms": list(a.terms),
        "score": a.score,
        "reasons": list(a.reasons),
        "confirmed": a.confirmed,
    }


def _rupture_dict(r: DigestRupture) -> dict[str, Any]:
    s = r.score
    return {
        "id": r.id,
        "title": r.title,
        "summary": r.summary,
        "status": s.status,
        "confidence": s.confidence,
        "direction": s.direction,
        "momentum": s.momentum,
        "evidence": s.evidence,
        "analysed": s.analysed,
        "sources": s.sources,
        "doubts": s.doubts,
        "rate": s.rate,
        "baseline_evidence": s.baseline_evidence,
        "baseline_analysed": s.baseline_analysed,
        "baseline_rate": s.baseline_rate,
        "rate_ratio": s.rate_ratio,
        "p_value": s.p_value,
        "q_value": s.q_value,
        "history": list(s.history),
        "items": [asdict(i) for i in r.items],
        "articles": [_article_dict(a) for a in r.articles],
        "counter_evidence": [_article_dict(a) for a in r.counter_evidence],
        "announcers": list(r.announcers),
        "entities": [{"name": name, "count": count} for name, count in r.entities],
        "trend": [w.to_dict() for w in r.trend],
    }


def digest_to_dict(d: Digest) -> dict[str, Any]:
    """The JSON document as plain Python data (ruptures in table order)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "week": d.week,
        "start": _iso(d.start),
        "end": _iso(d.end),
        "generated_at": _iso(d.generated_at),
        "ruleset_version": d.ruleset_version,
        "articles_analysed": d.articles_analysed,
        "sources_active": d.sources_active,
        "summary": summary_text(d),
        "params": asdict(d.params),
        "ruptures": [_rupture_dict(r) for r in _ordered(d)],
    }


def render_json(d: Digest) -> str:
    return json.dumps(digest_to_dict(d), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def _article_from(o: dict[str, Any]) -> DigestArticle:
    return DigestArticle(
        url=o["url"],
        title=o["title"],
        source=o["source"],
        published=datetime.fromisoformat(o["published"]),
        item_ids=tuple(o["item_ids"]),
        item_labels=tuple(o.get("item_labels", ())),
        kinds=tuple(o["kinds"]),
        sentence=o["sentence"],
        terms=tuple(o.get("terms", ())),
        score=o.get("score"),
        reasons=tuple(o.get("reasons", ())),
        confirmed=bool(o.get("confirmed", False)),
    )


def digest_from_json(text: str) -> Digest:
    """Read back a digest written by :func:`render_json` (ruptures in table order)."""
    o = json.loads(text)
    week = o["week"]
    ruptures = []
    for r in o["ruptures"]:
        score = RuptureScore(
            rupture_id=r["id"],
            week=week,
            evidence=r["evidence"],
            analysed=r["analysed"],
            rate=r["rate"],
            baseline_evidence=r["baseline_evidence"],
            baseline_analysed=r["baseline_analysed"],
            baseline_rate=r["baseline_rate"],
            rate_ratio=r["rate_ratio"],
            p_value=r["p_value"],
            q_value=r["q_value"],
            direction=r["direction"],
            sources=r["sources"],
            doubts=r["doubts"],
            status=r["status"],
            confidence=r["confidence"],
            momentum=r["momentum"],
            history=tuple(r["history"]),
        )
        ruptures.append(
            DigestRupture(
                id=r["id"],
                title=r["title"],
                summary=r["summary"],
                score=score,
                items=tuple(ItemActivity(**i) for i in r["items"]),
                articles=tuple(_article_from(a) for a in r["articles"]),
                counter_evidence=tuple(_article_from(a) for a in r["counter_evidence"]),
                announcers=tuple(r["announcers"]),
                entities=tuple((e["name"], e["count"]) for e in r["entities"]),
                trend=tuple(ChartWeek.from_dict(w) for w in r.get("trend", ())),
            )
        )
    return Digest(
        week=week,
        start=datetime.fromisoformat(o["start"]),
        end=datetime.fromisoformat(o["end"]),
        generated_at=datetime.fromisoformat(o["generated_at"]),
        ruleset_version=o["ruleset_version"],
        articles_analysed=o["articles_analysed"],
        sources_active=o["sources_active"],
        ruptures=tuple(ruptures),
        params=ScoreParams(**o.get("params", {})),
    )


# --------------------------------------------------------------------------- Markdown

_MD_ALWAYS = set("\\`*_[]<>&|~!$")
_MD_LINE_START = re.compile(r"^(?:[#+\-=>]|[0-9]+[.)])")
_MD_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![a-z0-9])(www)(\.)|(@)")


def _md_chars(text: str) -> str:
    out = []
    for ch in text:
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in _MD_ALWAYS:
            out.append("\\" + ch)
        else:
            out.append(ch)
    # Break bare-URL / e-mail autolinks (GFM, linkify) so only our own links are links.
    return _MD_AUTOLINK.sub(
        lambda m: "\\:" if m.group(1) else (m.group(2) + "\\." if m.group(2) else "\\@"),
        "".join(out),
    )


def md_escape(text: str) -> str:
    """Escape untrusted text for inline Markdown: no markup, no raw HTML, no autolinks, no
    table breaks, no block syntax at the start; whitespace and newlines collapse to one space."""
    escaped = _md_chars(_one_line(text))
    if _MD_LINE_START.match(escaped):
        escaped = "\\" + escaped
    return escaped


def _md_link(text: str, url: str) -> str:
    label = md_escape(text) or "(untitled)"
    href = safe_url(url)
    if href is None:
        return label
    return f"[{label}](<{href}>)"


def _md_sentence(a: DigestArticle) -> str:
    out = []
    for seg, matched in highlight(_one_line(a.sentence), a.terms):
        esc = _md_chars(seg)
        out.append(f"**{esc}**" if matched else esc)
    text = "".join(out)
    return "\\" + text if _MD_LINE_START.match(text) else text


def _md_articles(articles: Sequence[DigestArticle], lines: list[str]) -> None:
    for i, a in enumerate(articles[:MAX_ARTICLES], 1):
        matched = "; ".join(md_escape(x) for x in a.item_labels)
        lines.append(
            f"{i}. {_md_link(a.title, a.url)} — {md_escape(a.source)}, {_day(a.published)}"
            + (f" · matched: {matched}" if matched else "")
            + (f" · score {a.score:.2f}" if a.score is not None else "")
            + (" · ✓ confirmed by an analyst" if a.confirmed else "")
        )
        if a.reasons:
            lines.append(f"   *why: {md_escape('; '.join(a.reasons))}*")
        if a.sentence.strip():
            lines.append(f"   > {_md_sentence(a)}")
    if len(articles) > MAX_ARTICLES:
        lines += ["", f"…and {len(articles) - MAX_ARTICLES} more in the JSON digest."]


def render_markdown(d: Digest) -> str:
    ordered = _ordered(d)
    lines = [
        f"# Signals — week {d.week} ({_date_range(d.start, d.end)})",
        "",
        md_escape(summary_text(d)),
        "",
        f"| # | Rupture | Status | Evidence | Rate vs baseline (per 1,000) | Ratio | Sources "
        f"| Doubts | Confidence | {d.params.history_weeks} weeks |",
        "|---:|---|---|---:|---|---:|---:|---:|---|---|",
    ]
    for i, r in enumerate(ordered, 1):
        s = r.score
        lines.append(
            f"| {i} | {md_escape(r.title)} | {md_escape(s.status)} | {s.evidence} "
            f"| {_fmt_rate(s.rate)} vs {_fmt_rate(s.baseline_rate)} | {_fmt_ratio(s.rate_ratio)} "
            f"| {s.sources} | {s.doubts} | {md_escape(s.confidence)} | {sparkline(s.history)} |"
        )
    moved = [r for r in ordered if r.score.status in MOVED]
    for i, r in enumerate(ordered, 1):
        if r not in moved:
            continue
        s = r.score
        lines += [
            "",
            f"## {i}. {md_escape(r.title)} — {md_escape(s.status)} "
            f"({md_escape(s.confidence)} confidence)",
            "",
        ]
        if r.summary.strip():
            lines += [f"*{md_escape(r.summary)}*", ""]
        lines += [f"**Why.** {md_escape(_why_text(r, d.params))}", ""]
        for label, items in _items_by_kind(r, _EVIDENCE_KIND_ORDER):
            lines.append(f"{label} that fired:")
            lines += [
                f"- {md_escape(it.label)} — {_plural(it.articles, 'article')}" for it in items
            ]
            lines.append("")
        if r.announcers:
            lines += [f"Announcers mentioned: {', '.join(md_escape(a) for a in r.announcers)}", ""]
        if r.entities:
            ents = ", ".join(f"{md_escape(n)} ({c})" for n, c in r.entities)
            lines += [f"Entities around the evidence: {ents}", ""]
        lines += [f"### Evidence ({len(r.articles)})", ""]
        if r.articles:
            _md_articles(r.articles, lines)
        else:
            lines.append("No evidence article this week.")
        lines += [
            "",
            f"### Counter-evidence ({len(r.counter_evidence)}) — shown, not netted out",
            "",
        ]
        for label, items in _items_by_kind(r, ("doubt",)):
            lines.append(f"{label} that fired:")
            lines += [
                f"- {md_escape(it.label)} — {_plural(it.articles, 'article')}" for it in items
            ]
            lines.append("")
        if r.counter_evidence:
            _md_articles(r.counter_evidence, lines)
        else:
            lines.append("No counter-evidence this week.")
    also = [r for r in ordered if r.score.status == "steady" and r.score.evidence > 0]
    if also:
        lines += ["", "## Also seen this week (steady)", ""]
        for r in also:
            top = sorted(
                (i for i in r.items if i.kind != "doubt"), key=lambda i: (-i.articles, i.label)
            )[:3]
            fired = "; ".join(f"{md_escape(i.label)} ({i.articles})" for i in top)
            lines.append(
                f"- {md_escape(r.title)}: {_plural(r.score.evidence, 'article')}"
                + (f" — {fired}" if fired else "")
            )
    lines += ["", "## Method", ""]
    lines += [md_escape(p) + "\n" for p in _method_text(d)]
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- HTML


def _html_sentence(a: DigestArticle) -> Markup:
    parts = []
    for seg, matched in highlight(_one_line(a.sentence), a.terms):
        parts.append(Markup("<mark>{}</mark>").format(seg) if matched else escape(seg))
    return Markup("").join(parts)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        safe_url=safe_url,
        sparkline=sparkline,
        rate=_fmt_rate,
        ratio=_fmt_ratio,
        pval=_fmt_p,
        num=_fmt_int,
        day=_day,
        iso=_iso,
        sentence=_html_sentence,
        one_line=_one_line,
    )
    return env


@functools.cache
def _env() -> jinja2.Environment:
    return _environment()


def _status_class(status: str) -> str:
    return status if status in ("gaining", "new", "steady", "fading", "quiet") else "other"


def render_html(d: Digest, current_ruleset: str | None = None) -> str:
    """The HTML digest; with ``current_ruleset`` different from the digest's, a notice says it
    was written with another ruleset and how to regenerate it."""
    ordered = _ordered(d)
    scale = shared_scale(r.trend for r in ordered)  # one scale for every rupture
    rows: list[dict[str, Any]] = []
    for i, r in enumerate(ordered, 1):
        rows.append(
            {
                "n": i,
                "r": r,
                "s": r.score,
                "cls": _status_class(r.score.status),
                "moved": r.score.status in MOVED,
                "chart_svg": rupture_chart(r.trend, scale, current=d.week, label=r.title) if r.trend else "",
                "why": _why_text(r, d.params),
                "fired": _items_by_kind(r, _EVIDENCE_KIND_ORDER),
                "doubted": _items_by_kind(r, ("doubt",)),
                "top": sorted(
                    (it for it in r.items if it.kind != "doubt"),
                    key=lambda it: (-it.articles, it.label),
                )[:3],
            }
        )
    return (
        _env()
        .get_template("digest.html.j2")
        .render(
            d=d,
            title=f"Signals — week {d.week} ({_date_range(d.start, d.end)})",
            summary=summary_text(d),
            rows=rows,
            also=[row for row in rows if row["s"].status == "steady" and row["s"].evidence > 0],
            method=_method_text(d),
            max_articles=MAX_ARTICLES,
            current_ruleset=current_ruleset,
            trend_weeks=max((len(r.trend) for r in ordered), default=0),
            scale_per_1000=scale * 1000,
        )
    )


# --------------------------------------------------------------------------- files


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    A temporary file in the same directory, flushed and fsynced, then :func:`os.replace`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@dataclass(frozen=True)
class _IndexEntry:
    week: str
    start: datetime
    end: datetime
    generated_at: datetime | None
    articles_analysed: int | None
    counts: dict[str, int]
    moved: tuple[str, ...]
    summary: str
    files: tuple[str, ...]  # which of html / md / json exist
    ruleset_version: str | None = None  # what the digest was written with


def _index_entries(reports_dir: Path) -> list[_IndexEntry]:
    entries = []
    for path in reports_dir.iterdir():
        m = _WEEK_FILE.fullmatch(path.name)
        if m is None:
            continue
        week = m.group(1)
        try:
            start, end = week_bounds(week)
        except InvalidWeekError:
            continue
        files = tuple(
            ext for ext in ("html", "md", "json") if (reports_dir / f"{week}.{ext}").is_file()
        )
        generated: datetime | None = None
        analysed: int | None = None
        counts: dict[str, int] = {}
        moved: list[str] = []
        summary = ""
        ruleset: str | None = None
        try:
            o = json.loads(path.read_text(encoding="utf-8"))
            generated = _utc(datetime.fromisoformat(o["generated_at"]))
            analysed = int(o["articles_analysed"])
            summary = str(o.get("summary", ""))
            ruleset = str(o["ruleset_version"]) if o.get("ruleset_version") else None
            for r in o["ruptures"]:
                status = str(r["status"])
                counts[status] = counts.get(status, 0) + 1
                if status in MOVED:
                    moved.append(f"{_one_line(r['title'])} ({status})")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("index: cannot read %s: %s", path, exc)
        entries.append(
            _IndexEntry(week, start, end, generated, analysed, counts, tuple(moved), summary, files, ruleset)
        )
    entries.sort(key=lambda e: e.week, reverse=True)
    return entries


def _render_index(entries: list[_IndexEntry], current_ruleset: str | None = None) -> str:
    return (
        _env()
        .get_template("index.html.j2")
        .render(
            entries=[{"e": e, "dates": _date_range(e.start, e.end)} for e in entries],
            moved_statuses=MOVED,
            current_ruleset=current_ruleset,
        )
    )


def _atom_time(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def _render_feed(entries: list[_IndexEntry], base_url: str | None) -> str:
    ET.register_namespace("", ATOM_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        e = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            e.text = text
        return e

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    el(
        feed,
        "id",
        "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "signals:digests:" + (base_url or ""))),
    )
    el(feed, "title", "Signals — weekly digests")
    times = [e.generated_at or e.end for e in entries]
    el(feed, "updated", _atom_time(max(times)) if times else "1970-01-01T00:00:00Z")
    author = el(feed, "author")
    el(author, "name", "Signals")
    if base_url:
        el(feed, "link", rel="self", href=base_url + "feed.atom")
        el(feed, "link", rel="alternate", type="text/html", href=base_url + "index.html")
    for e in entries:
        entry = el(feed, "entry")
        el(
            entry,
            "id",
            "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"signals:digest:{e.week}")),
        )
        el(entry, "title", f"Signals — week {e.week} ({_date_range(e.start, e.end)})")
        el(entry, "updated", _atom_time(e.generated_at or e.end))
        if "html" in e.files:
            el(
                entry,
                "link",
                rel="alternate",
                type="text/html",
                href=(base_url or "") + f"{e.week}.html",
            )
        if "json" in e.files:
            el(
                entry,
                "link",
                rel="alternate",
                type="application/json",
                href=(base_url or "") + f"{e.week}.json",
            )
        el(
            entry,
            "summary",
            _strip_controls(e.summary or f"Digest for week {e.week}."),
            type="text",
        )
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


def _strip_controls(text: str) -> str:
    """Drop characters XML 1.0 cannot carry at all."""
    return "".join(
        ch
        for ch in text
        if ch in "\t\n\r"
        or (" " <= ch <= "\ud7ff")
        or ("\ue000" <= ch <= "\ufffd")
        or ch >= "\U00010000"
    )


def _flag_stale(reports_dir: Path, entries: list[_IndexEntry], current: str) -> None:
    """Re-render, from its JSON, the HTML of every digest written with another ruleset than
    ``current``, with a notice saying so (once: a page already flagged for ``current`` is left)."""
    for e in entries:
        if e.ruleset_version in (None, current) or "html" not in e.files or "json" not in e.files:
            continue
        html = reports_dir / f"{e.week}.html"
        try:
            if f'data-current-ruleset="{current}"' in html.read_text(encoding="utf-8"):
                continue
            old = digest_from_json((reports_dir / f"{e.week}.json").read_text(encoding="utf-8"))
            _atomic_write(html, render_html(old, current_ruleset=current))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cannot flag %s as written with another ruleset: %s", html, exc)


def write_digest(d: Digest, reports_dir: Path, *, base_url: str | None = None) -> list[Path]:
    """Write ``<YYYY>-W<ww>.md``, ``.html`` and ``.json`` for ``d`` atomically, then regenerate
    ``index.html`` and ``feed.atom`` from the digests present. Returns the five paths written
    (md, html, json, index, feed). ``base_url`` (http/https, e.g. where ``reports/`` is
    published) makes the feed's links absolute; without it they are relative."""
    week_bounds(d.week)  # the file name comes from it: refuse anything that is not a week
    if base_url is not None:
        checked = safe_url(base_url)
        if checked is None:
            raise ValueError(f"base_url must be an http(s) URL: {base_url!r}")
        base_url = checked if checked.endswith("/") else checked + "/"
    rendered = {
        ".md": render_markdown(d),
        ".html": render_html(d),
        ".json": render_json(d),
    }  # all rendered before anything is written
    reports_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, text in rendered.items():
        path = reports_dir / f"{d.week}{suffix}"
        _atomic_write(path, text)
        paths.append(path)
    entries = _index_entries(reports_dir)
    _flag_stale(reports_dir, entries, d.ruleset_version)
    index = reports_dir / "index.html"
    _atomic_write(index, _render_index(entries, d.ruleset_version))
    feed = reports_dir / "feed.atom"
    _atomic_write(feed, _render_feed(entries, base_url))
    return [*paths, index, feed]
