"""The index page (``reports/index.html``) and the Atom feed (``reports/feed.atom``), both
regenerated from the JSON digests present in ``reports/`` (a damaged one is still listed)."""

from __future__ import annotations

import json
import logging
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from signals.report.fmt import date_range, one_line, utc
from signals.report.html import html_env
from signals.report.view import MOVED
from signals.score import InvalidWeekError, week_bounds

log = logging.getLogger(__name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
_WEEK_FILE = re.compile(r"([0-9]{4}-W[0-9]{2})\.json")


@dataclass(frozen=True)
class IndexEntry:
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


def index_entries(reports_dir: Path) -> list[IndexEntry]:
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
            generated = utc(datetime.fromisoformat(o["generated_at"]))
            analysed = int(o["articles_analysed"])
            summary = str(o.get("summary", ""))
            ruleset = str(o["ruleset_version"]) if o.get("ruleset_version") else None
            for r in o["ruptures"]:
                status = str(r["status"])
                counts[status] = counts.get(status, 0) + 1
                if status in MOVED:
                    moved.append(f"{one_line(r['title'])} ({status})")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("index: cannot read %s: %s", path, exc)
        entries.append(
            IndexEntry(
                week, start, end, generated, analysed, counts, tuple(moved), summary, files, ruleset
            )
        )
    entries.sort(key=lambda e: e.week, reverse=True)
    return entries


def render_index(entries: list[IndexEntry], current_ruleset: str | None = None) -> str:
    return (
        html_env()
        .get_template("index.html.j2")
        .render(
            entries=[{"e": e, "dates": date_range(e.start, e.end)} for e in entries],
            moved_statuses=MOVED,
            current_ruleset=current_ruleset,
        )
    )


def _atom_time(dt: datetime) -> str:
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_feed(entries: list[IndexEntry], base_url: str | None) -> str:
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
        el(entry, "title", f"Signals — week {e.week} ({date_range(e.start, e.end)})")
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
