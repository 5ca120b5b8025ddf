"""A complete digest (issue 9 item 7) from a real run: every evidence and counter-evidence
article of the week is listed, with every item that fired and every sentence it hit, and the
highlighting is what the matcher matched ("ubérisés" found by the term "ubérisation")."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from signals.cli import cli
from signals.devserver import Response, serve
from signals.judge import accept_all

NOW = datetime(2024, 5, 14, 12, tzinfo=UTC)
WEEK = "2024-W19"
EVIDENCE, COUNTER = 12, 3
WORDS = [
    "Nantes",
    "Lyon",
    "Lille",
    "Brest",
    "Rennes",
    "Metz",
    "Nice",
    "Pau",
    "Dijon",
    "Caen",
    "Tours",
    "Albi",
]

SCENARIOS = """\
ruptures:
  - id: plateformes
    title: Les plateformes
    summary: Le travail par plateformes.
    watch:
      - {id: w-uber, label: "l'ubérisation du travail", any: ["ubérisation"]}
      - {id: w-money, label: "les monnaies locales", any: ["monnaie locale"]}
    doubts:
      - {id: d-troc, label: "le retour du troc", any: ["troc"]}
"""


def _item(guid: str, title: str, body: str, when: datetime) -> str:
    return (
        f"<item><title>{title}</title><link>https://ex.org/{guid}</link><guid>{guid}</guid>"
        f"<description>{body}</description>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
    )


def _feed() -> str:
    day = datetime(2024, 5, 7, 8, tzinfo=UTC)
    items = []
    for i, city in enumerate(WORDS[:EVIDENCE]):
        body = (
            f"À {city}, les chauffeurs ubérisés manifestent depuis {i + 2} jours. "
            f"Le maire de {city} parle du temps qu'il fait. "
            f"La monnaie locale de {city} les soutient, comme l'ubérisation inquiète."
        )
        if i < COUNTER:
            body += f" À {city}, le troc revient aussi."
        items.append(
            _item(f"e{i}", f"Reportage numéro {i + 1} à {city}", body, day + timedelta(minutes=i))
        )
    for w in range(1, 11):  # quiet weeks before: the rupture can be "new"
        items.append(
            _item(
                f"q{w}",
                f"Météo de la semaine {w}",
                "Du soleil et quelques nuages.",
                day - timedelta(weeks=w),
            )
        )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Ex</title>"
        f"<link>https://ex.org/</link>{''.join(items)}</channel></rss>"
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("complete")
    (tmp / "scenarios.yaml").write_text(SCENARIOS, encoding="utf-8")
    judge = tmp / "judge.json"
    judge.write_text(json.dumps(accept_all().to_json()), encoding="utf-8")
    feed = _feed().encode()
    with serve(
        lambda _path, _headers: Response(200, feed, {"Content-Type": "application/rss+xml"})
    ) as srv:
        (tmp / "sources.yaml").write_text(
            'defaults: {fetch_pages: false}\nfetch: {allow_networks: ["127.0.0.0/8"]}\nsources:\n'
            f"  - {{id: ex, name: Ex, url: '{srv.base_url}/feed.xml'}}\n",
            encoding="utf-8",
        )
        base = [
            "--db",
            f"sqlite:///{tmp / 'x.db'}",
            "--judge",
            str(judge),
            "--sources",
            str(tmp / "sources.yaml"),
            "--scenarios",
            str(tmp / "scenarios.yaml"),
            "--reports",
            str(tmp / "r"),
            "--now",
            NOW.isoformat(),
        ]
        res = CliRunner().invoke(cli, [*base, "run"])
        assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, [*base, "digest", "--week", WEEK])
    assert res.exit_code == 0, res.output
    return tmp / "r"


def _rupture(reports: Path) -> dict:
    digest = json.loads((reports / f"{WEEK}.json").read_text(encoding="utf-8"))
    return next(r for r in digest["ruptures"] if r["id"] == "plateformes")


def test_json_lists_every_article_with_every_item_and_sentence(reports: Path) -> None:
    r = _rupture(reports)
    assert r["status"] == "new", r["status"]
    assert r["evidence"] == len(r["articles"]) == EVIDENCE
    assert r["doubts"] == len(r["counter_evidence"]) == COUNTER
    scores = [a["score"] for a in r["articles"]]
    assert scores == sorted(scores, reverse=True)
    for a in r["articles"]:
        assert set(a["item_ids"]) == {"w-uber", "w-money"}
        hit = {i for s in a["sentences"] for i in s["item_ids"]}
        assert hit == {"w-uber", "w-money"}
        assert (
            len(a["sentences"]) == 2
        )  # the first and the third sentence; the weather is not listed
        first = a["sentences"][0]
        assert [first["text"][x:y] for x, y in first["spans"]] == ["ubérisés"]
        third = a["sentences"][1]
        assert [third["text"][x:y] for x, y in third["spans"]] == ["monnaie locale", "ubérisation"]


class _Count(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.lists: dict[str, int] = {}
        self.in_details = 0
        self.marks: list[str] = []
        self._mark = False
        self.section = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class") or ""
        if tag in ("div", "aside") and cls in ("evidence", "doubts"):
            self.section = cls
        if tag == "li" and "articles" in self.stack[-1:]:
            self.lists[self.section] = self.lists.get(self.section, 0) + 1
            self.in_details += "details" in self.stack
        self.stack.append(cls if tag == "ol" and cls == "articles" else tag)
        self._mark = tag == "mark"

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() not in (tag, "articles"):
            pass
        self._mark = False

    def handle_data(self, data: str) -> None:
        if self._mark:
            self.marks.append(data)


def test_html_lists_every_article_the_heading_counts(reports: Path) -> None:
    html = (reports / f"{WEEK}.html").read_text(encoding="utf-8")
    shown = {k: int(n) for k, n in re.findall(r"<h3>(Evidence|Counter-evidence) \((\d+)\)", html)}
    assert shown == {"Evidence": EVIDENCE, "Counter-evidence": COUNTER}
    assert f"{EVIDENCE} evidence articles out of" in html
    page = _Count()
    page.feed(html)
    assert page.lists == {"evidence": EVIDENCE, "doubts": COUNTER}
    assert page.in_details == EVIDENCE - 10  # the best ten first, the rest folded
    assert "<summary>2 more evidence articles</summary>" in html
    # evidence shows its items' sentences, counter-evidence the doubt's
    assert page.marks.count("ubérisés") == EVIDENCE
    assert page.marks.count("monnaie locale") == EVIDENCE
    assert page.marks.count("troc") == COUNTER


def test_markdown_lists_every_article_in_full(reports: Path) -> None:
    md = (reports / f"{WEEK}.md").read_text(encoding="utf-8")
    section = md.split("### Evidence (")[1]
    assert section.startswith(f"{EVIDENCE})")
    evidence, counter = section.split("### Counter-evidence (")
    assert counter.startswith(f"{COUNTER})")
    assert len(re.findall(r"^\d+\. \[Reportage", evidence, re.M)) == EVIDENCE
    assert len(re.findall(r"^\d+\. \[Reportage", counter.split("\n## ")[0], re.M)) == COUNTER
    assert evidence.count("**ubérisés**") == EVIDENCE
    assert evidence.count("**monnaie locale**") == EVIDENCE
    assert "matched: " in evidence and "l'ubérisation du travail" in evidence
    assert "\n    > " in evidence  # item 10 and up: continuation lines indented by four


def test_emerging_terms_in_json_html_and_markdown(reports: Path) -> None:
    r = _rupture(reports)
    em = r["emerging"]
    assert em["evidence"] == EVIDENCE and em["recent_evidence"] == EVIDENCE
    terms = {t["term"]: t for t in em["terms"]}
    assert "chauffeurs" in terms, terms  # in every evidence article, in none of the weather ones
    assert (
        terms["chauffeurs"]["visibility"] == 1.0 and terms["chauffeurs"]["growth"] == 0.0
    )  # no earlier weeks
    assert not {"comme", "depuis", "jours", "les", "fait"} & set(
        terms
    )  # function words and boilerplate
    assert terms["ubérisation"]["in_watch_list"] and not terms["chauffeurs"]["in_watch_list"]
    html = (reports / f"{WEEK}.html").read_text(encoding="utf-8")
    section = html.split('<div class="emerging">')[1].split("</div>\n</div>")[0]
    assert '<svg class="emerging-map"' in section and "<td>chauffeurs</td>" in section
    md = (reports / f"{WEEK}.md").read_text(encoding="utf-8")
    assert (
        "### Emerging terms (2024-W08 to 2024-W19)" in md
        and "| chauffeurs | well-known | 100% (12) |" in md
    )
