"""Cut a sentence at the character spans the matcher matched (:mod:`signals.spans`), for the
Markdown and HTML renderers to mark. Nothing is re-derived here: no folding, no guessing."""

from __future__ import annotations

import re
from collections.abc import Iterable

from signals.spans import merge_spans

_SPACE = re.compile(r"\s+")

Segment = tuple[str, bool]  # (text, matched)


def segments(text: str, spans: Iterable[tuple[int, int]]) -> tuple[Segment, ...]:
    """``text`` as ``(piece, matched)`` segments, cut at ``spans`` (clipped, merged; bad spans
    from a hand-edited JSON file are dropped, never an error). Whitespace runs collapse to one
    space and the ends are trimmed: a sentence prints on one line."""
    out: list[Segment] = []
    pos = 0
    for start, end in merge_spans(spans, len(text)):
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    cleaned = [(_SPACE.sub(" ", piece), matched) for piece, matched in out]
    if cleaned:
        cleaned[0] = (cleaned[0][0].lstrip(), cleaned[0][1])
        cleaned[-1] = (cleaned[-1][0].rstrip(), cleaned[-1][1])
    return tuple((piece, matched) for piece, matched in cleaned if piece)
