"""Write a week's digest files atomically, then the index page and the Atom feed."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from signals.report.fmt import safe_url
from signals.report.html import render_html
from signals.report.index import IndexEntry, index_entries, render_feed, render_index
from signals.report.json_io import digest_from_json, render_json
from signals.report.markdown import render_markdown
from signals.report.model import Digest
from signals.score import week_bounds

log = logging.getLogger(__name__)


def atomic_write(path: Path, text: str) -> None:
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


def flag_stale(reports_dir: Path, entries: list[IndexEntry], current: str) -> None:
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
            atomic_write(html, render_html(old, current_ruleset=current))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cannot flag %s as written with another ruleset: %s", html, exc)


def write_digest(
    d: Digest,
    reports_dir: Path,
    *,
    base_url: str | None = None,
    charts: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write ``<YYYY>-W<ww>.md``, ``.html`` and ``.json`` for ``d`` atomically, then regenerate
        ``index.html`` and ``feed.atom`` from the digests present. Returns the five paths written
        (md, html, json, index, feed). ``base_url`` (http/https, e.g. where ``reports/`` is
        published) makes the feed's links absolute; without it they are relative. ``charts``: rupture
    id → inline SVG for the HTML (drawn by our own code, see :func:`.html.render_html`)."""
    week_bounds(d.week)  # the file name comes from it: refuse anything that is not a week
    if base_url is not None:
        checked = safe_url(base_url)
        if checked is None:
            raise ValueError(f"base_url must be an http(s) URL: {base_url!r}")
        base_url = checked if checked.endswith("/") else checked + "/"
    rendered = {
        ".md": render_markdown(d),
        ".html": render_html(d, charts),
        ".json": render_json(d),
    }  # all rendered before anything is written
    reports_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, text in rendered.items():
        path = reports_dir / f"{d.week}{suffix}"
        atomic_write(path, text)
        paths.append(path)
    entries = index_entries(reports_dir)
    flag_stale(reports_dir, entries, d.ruleset_version)
    index = reports_dir / "index.html"
    atomic_write(index, render_index(entries, d.ruleset_version))
    feed = reports_dir / "feed.atom"
    atomic_write(feed, render_feed(entries, base_url))
    return [*paths, index, feed]
