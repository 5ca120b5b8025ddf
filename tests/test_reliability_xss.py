"""Report safety end to end (issue 4, case 12): hostile text in every feed field and in the YAML
labels goes through fetch → process → digest; the HTML digest, parsed, has no script element,
no on* attribute and only http/https links."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import escape
from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner

from signals.cli import cli
from signals.devserver import Response, serve
from signals.judge import accept_all

from .test_report import XSS_PAYLOADS

NOW = datetime(2024, 5, 8, 12, tzinfo=UTC)


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.on_attrs: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed"):
            self.scripts += 1
        for k, v in attrs:
            if k.lower().startswith("on"):
                self.on_attrs.append(f"{tag}.{k}")
            if k.lower() in ("href", "src", "action", "formaction", "xlink:href") and v is not None:
                self.hrefs.append(v)


def test_payloads_in_feeds_and_labels_never_reach_the_html_as_markup(tmp_path: Path) -> None:
    items = []
    for i, p in enumerate(XSS_PAYLOADS):
        title = escape(f"monnaie locale {p}")
        desc = escape(f"La monnaie locale progresse {p}. Le troc aussi {p}.")
        link = escape(p if i % 3 == 0 else f"https://ex.org/{i}?q={p}")
        items.append(
            f"<item><title>{title}</title><link>{link}</link><guid>g{i}</guid>"
            f"<description>{desc}</description><author>{escape(p)}</author>"
            f"<pubDate>Tue, 07 May 2024 08:00:00 +0000</pubDate></item>"
        )
    # ten quiet weeks before: a rupture is only called "new" once the store has history
    for w in range(1, 11):
        day = (datetime(2024, 5, 7, 8, tzinfo=UTC) - timedelta(weeks=w)).strftime(
            "%a, %d %b %Y %H:%M:%S +0000"
        )
        items.append(
            f"<item><title>Météo de la semaine {w}</title><link>https://ex.org/quiet/{w}</link>"
            f"<guid>q{w}</guid><description>Du soleil et quelques nuages.</description>"
            f"<pubDate>{day}</pubDate></item>"
        )
    feed = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{escape(XSS_PAYLOADS[0])}</title><link>https://ex.org/</link>{''.join(items)}</channel></rss>"
    )
    label = json.dumps(" ".join(XSS_PAYLOADS[:25]))
    title = json.dumps(" ".join(XSS_PAYLOADS[25:50]))
    (tmp_path / "scenarios.yaml").write_text(
        "ruptures:\n  - id: hostile\n    title: "
        + title
        + "\n    summary: "
        + json.dumps(XSS_PAYLOADS[50 % len(XSS_PAYLOADS)])
        + "\n    watch:\n      - id: w-x\n        label: "
        + label
        + '\n        any: ["monnaie locale"]\n'
        "    doubts:\n      - id: d-x\n        label: " + label + '\n        any: ["troc"]\n',
        encoding="utf-8",
    )

    def router(_path: str, _headers: dict[str, str]) -> Response:
        return Response(200, feed.encode(), {"Content-Type": "application/rss+xml"})

    with serve(router) as srv:
        (tmp_path / "sources.yaml").write_text(
            'defaults: {fetch_pages: false}\nfetch: {allow_networks: ["127.0.0.0/8"]}\nsources:\n'
            f"  - {{id: hostile, name: {json.dumps(XSS_PAYLOADS[3])}, url: '{srv.base_url}/feed.xml'}}\n",
            encoding="utf-8",
        )
        judge = (
            tmp_path / "judge.json"
        )  # accept every candidate: every payload must reach the digest
        judge.write_text(json.dumps(accept_all().to_json()), encoding="utf-8")
        base = [
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "--judge",
            str(judge),
            "--sources",
            str(tmp_path / "sources.yaml"),
            "--scenarios",
            str(tmp_path / "scenarios.yaml"),
            "--reports",
            str(tmp_path / "r"),
        ]
        res = CliRunner().invoke(cli, [*base, "--now", NOW.isoformat(), "run"])
        assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, [*base, "--now", NOW.isoformat(), "digest", "--week", "2024-W19"])
    assert res.exit_code == 0, res.output
    digest = json.loads((tmp_path / "r" / "2024-W19.json").read_text(encoding="utf-8"))
    assert digest["ruptures"][0]["evidence"] > 30, "the hostile articles were matched and reported"
    for name in ("2024-W19.html", "index.html"):
        audit = _Audit()
        audit.feed((tmp_path / "r" / name).read_text(encoding="utf-8"))
        assert audit.scripts == 0
        assert audit.on_attrs == []
        # feed-provided links are http(s) only; the index also links our own files by name
        own = re.compile(r"^(\d{4}-W\d{2}\.(html|md|json)|feed\.atom|#[\w-]+)$")
        bad = [
            h for h in audit.hrefs if not (h.startswith(("http://", "https://")) or own.match(h))
        ]
        assert audit.hrefs and not bad, bad[:5]
        assert not any(
            h.lower().lstrip().startswith(("javascript:", "data:", "vbscript:"))
            for h in audit.hrefs
        )
