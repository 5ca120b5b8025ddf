"""The digest's renderings, under the names callers import (the work is done by one module per
job: :mod:`.view` the view model, :mod:`.markdown`, :mod:`.html`, :mod:`.json_io`,
:mod:`.index` the index page and Atom feed, :mod:`.files` the atomic writes).

Layout of a digest (Markdown and HTML alike):

1. a title with the ISO week and its dates, and a one-paragraph summary;
2. a table of *all* ruptures sorted by momentum (:func:`signals.score.momentum_order`);
3. a section per rupture that moved (status ``gaining``, ``new`` or ``fading``): why (the
   statistics and which watch items / early signs / milestones fired, with counts), then every
   evidence article of the week, best judge score first, each with its score and reasons, every
   item that fired and every sentence they hit, the terms the matcher found highlighted (HTML
   shows the first :data:`~.view.MAX_ARTICLES` and folds the rest under ``<details>``); the
   counter-evidence beside them, never netted out; then one line per *steady* rupture that
   still had evidence, so nothing seen is hidden;
4. a Method note (baseline, test, correction, status and confidence rules).

Everything that came from a feed is untrusted. HTML goes through Jinja2 with autoescape on,
is self-contained (inline CSS, no scripts, no external resources, a restrictive CSP) and links
only http/https URLs (:func:`safe_url`); anything else is shown as plain text. Markdown is
rendered from a template too, every value escaped for Markdown, with http/https links only.
"""

from signals.report.files import write_digest
from signals.report.fmt import safe_url, sparkline
from signals.report.html import render_html
from signals.report.json_io import digest_from_json, digest_to_dict, render_json
from signals.report.markdown import md_escape, render_markdown
from signals.report.view import MAX_ARTICLES, summary_text

__all__ = [
    "MAX_ARTICLES",
    "digest_from_json",
    "digest_to_dict",
    "md_escape",
    "render_html",
    "render_json",
    "render_markdown",
    "safe_url",
    "sparkline",
    "summary_text",
    "write_digest",
]
