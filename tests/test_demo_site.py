"""The demo's archived pages: a digest opened from disk links to pages that open."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from signals.demo_corpus import load_corpus
from signals.demo_site import relink_to_archive, write_archive

NOW = datetime(2025, 1, 20, tzinfo=UTC)


def test_archive_holds_every_published_page_with_relative_links(tmp_path: Path) -> None:
    corpus = load_corpus()
    root = write_archive(corpus, tmp_path / "reports", NOW)
    assert root == tmp_path / "reports" / "demo"
    published = {a.id for a in corpus.articles if a.published <= NOW}
    assert {p.stem for p in (root / "articles").glob("*.html")} == published
    page = (root / "articles" / f"{sorted(published)[0]}.html").read_text(encoding="utf-8")
    assert "http://" not in page.replace("https://schema.org", "")  # no dead server in any link
    for href in re.findall(r'href="([^"]+)"', page):  # every link resolves on disk
        target = (root / "articles" / href).resolve()
        assert target.exists() or (target / "index.html").exists(), href
    index = (root / "index.html").read_text(encoding="utf-8")
    assert index.count('href="articles/') == len(published)


def test_relink_points_digest_links_at_the_archive(tmp_path: Path) -> None:
    base = "http://127.0.0.1:40123"
    md = tmp_path / "2025-W15.md"
    md.write_text(
        f"1. [Titre](<{base}/articles/a-b.html>) and <{base}/feeds/x.xml>\n", encoding="utf-8"
    )
    html = tmp_path / "2025-W15.html"
    html.write_text(f'<a href="{base}/articles/a-b.html">x</a>', encoding="utf-8")
    other = tmp_path / "notes.txt"
    other.write_text(f"{base}/articles/a-b.html", encoding="utf-8")
    relink_to_archive([md, html, other, tmp_path / "missing.json"], base + "/")
    assert (
        md.read_text(encoding="utf-8")
        == f"1. [Titre](<demo/articles/a-b.html>) and <{base}/feeds/x.xml>\n"
    )
    assert html.read_text(encoding="utf-8") == '<a href="demo/articles/a-b.html">x</a>'
    assert other.read_text(encoding="utf-8") == f"{base}/articles/a-b.html"  # not a digest file
