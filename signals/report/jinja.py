"""The Jinja2 environment of the digest templates (``templates/``) with the filters every
template shares. :mod:`.html` turns autoescape on; :mod:`.markdown` escapes every value for
Markdown; :mod:`.index` renders the index page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from signals.report.fmt import (
    day,
    fmt_int,
    fmt_p,
    fmt_rate,
    fmt_ratio,
    fmt_score,
    iso,
    one_line,
    safe_url,
    sparkline,
)

TEMPLATES = Path(__file__).parent / "templates"


def environment(**options: Any) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        **options,
    )
    env.filters.update(
        safe_url=safe_url,
        sparkline=sparkline,
        rate=fmt_rate,
        ratio=fmt_ratio,
        pval=fmt_p,
        num=fmt_int,
        score=fmt_score,
        day=day,
        iso=iso,
        one_line=one_line,
    )
    return env
