"""The Markdown template: every value escaped, every article listed in full with its
highlighted sentences, continuation lines indented to their list item."""

from __future__ import annotations

import dataclasses
import re

from signals.report import DigestSentence
from signals.report.markdown import md_escape, md_link, md_sentence, render_markdown

from ..test_report import make_digest


def test_values_are_escaped_and_links_only_http() -> None:
    assert md_link("a *b*", "javascript:alert(1)") == "a \\*b\\*"
    assert md_link("", "https://x.example/a b") == "(untitled)"
    assert md_link("t", "https://x.example/<") == "[t](<https://x.example/%3C>)"
    assert md_sentence((("# not", False), ("a *head*", True))) == "\\# not**a \\*head\\***"
    assert md_escape("20.0") == "\\20.0"  # at a line start; numbers in the table print as they are


def test_every_article_is_listed_in_full_with_every_sentence() -> None:
    d = make_digest(articles=14)
    r = next(r for r in d.ruptures if r.id == "post-patrimonial")
    two = DigestSentence("Les chauffeurs ubérisés.", ((15, 23),), ("x",))
    arts = tuple(dataclasses.replace(a, sentences=(*a.sentences, two)) for a in r.articles)
    d = dataclasses.replace(
        d,
        ruptures=tuple(dataclasses.replace(x, articles=arts) if x is r else x for x in d.ruptures),
    )
    md = render_markdown(d)
    section = md.split("### Evidence (14)")[1].split("### Counter-evidence")[0]
    assert len(re.findall(r"^\d+\. \[", section, re.M)) == 14
    assert section.count("**ubérisés**") == 14
    assert (
        "\n   > À **Bristol**" in section and "\n    > À **Bristol**" in section
    )  # "9." and "10."
    assert "more in the JSON" not in md
    assert "| 1 | Title of post-patrimonial | gaining | 20 | 20.0 vs 1.0 | ×20.0 |" in md
    assert "\n\n\n" not in md
