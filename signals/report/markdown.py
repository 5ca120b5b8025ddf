"""The Markdown digest, from ``templates/digest.md.j2``.

Markdown has no autoescape, so this module gives the template one: every ``{{ value }}`` is
escaped by :func:`md_escape` (no markup, no raw HTML, no autolinks, no table breaks, no block
syntax at the start) unless a filter below already built it as :class:`Md` — links (only
http/https), the highlighted sentence, our formatted numbers."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import jinja2

from signals.report.fmt import one_line, safe_url
from signals.report.highlight import Segment
from signals.report.jinja import environment
from signals.report.model import Digest
from signals.report.view import digest_view

_MD_ALWAYS = set("\\`*_[]<>&|~!$")
_MD_LINE_START = re.compile(r"^(?:[#+\-=>]|[0-9]+[.)])")
_MD_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![a-z0-9])(www)(\.)|(@)")


class Md(str):
    """Markdown that is already escaped: the template prints it as is."""

    __slots__ = ()


def md_chars(text: str) -> str:
    """Escape the Markdown- and HTML-significant characters of inline text."""
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


def _guard_start(escaped: str) -> str:
    return "\\" + escaped if _MD_LINE_START.match(escaped) else escaped


def md_escape(text: str) -> str:
    """Escape untrusted text for inline Markdown: no markup, no raw HTML, no autolinks, no
    table breaks, no block syntax at the start; whitespace and newlines collapse to one space."""
    return _guard_start(md_chars(one_line(text)))


def md_link(text: str, url: str) -> Md:
    label = md_escape(text) or "(untitled)"
    href = safe_url(url)
    return Md(label if href is None else f"[{label}](<{href}>)")


def md_sentence(segments: tuple[Segment, ...]) -> Md:
    """The sentence with what the matcher matched in bold."""
    text = "".join(f"**{md_chars(s)}**" if matched else md_chars(s) for s, matched in segments)
    return Md(_guard_start(text))


def md_indent(n: int) -> Md:
    """The indentation of the lines that continue list item ``n`` (``"10. "`` needs four)."""
    return Md(" " * (len(str(n)) + 2))


def _finalize(value: Any) -> str:
    if isinstance(value, Md):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return md_escape(str(value))


def _formatted(fmt: Callable[..., str]) -> Callable[..., Md]:
    """One of our number/date formatters, its output escaped inline (``< 1e-300``)."""
    return lambda value, *args: Md(md_chars(fmt(value, *args)))


@functools.cache
def markdown_env() -> jinja2.Environment:
    env = environment(autoescape=False, finalize=_finalize)
    for name in ("sparkline", "rate", "ratio", "pval", "num", "score", "day", "iso"):
        env.filters[name] = _formatted(env.filters[name])
    env.filters.update(md_link=md_link, md_sentence=md_sentence, md_indent=md_indent)
    return env


def render_markdown(d: Digest) -> str:
    text = markdown_env().get_template("digest.md.j2").render(v=digest_view(d))
    return re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n"
