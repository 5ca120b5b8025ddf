"""The demo's HTML digest and the history page, opened in headless Chromium: the DOM the browser
built has an SVG chart per rupture, no script, no event handler, and only http/https links (or
links to local sibling files); a screenshot renders. Skipped, with the reason, when no browser
is installed (CI installs Debian's `chromium`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import html as lxml_html

from signals.cli import cli

REPO = Path(__file__).resolve().parents[1]
BROWSER = next(
    (p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p),
    None,
)
pytestmark = [
    pytest.mark.skipif(BROWSER is None, reason="no headless browser (apt-get install -y chromium)"),
    pytest.mark.xdist_group("demo"),
    pytest.mark.slow,
]  # the demo replayed and backtested, then Chromium
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]


def browse(*args: str) -> str:
    assert BROWSER is not None
    res = subprocess.run(
        [BROWSER, *FLAGS, *args], capture_output=True, text=True, timeout=180, check=True
    )
    return res.stdout


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo replayed, then its whole period backtested from the demo database."""
    tmp = tmp_path_factory.mktemp("browser")
    base = [
        "--db",
        f"sqlite:///{tmp / 'demo.db'}",
        "--reports",
        str(tmp / "reports"),
        "--scenarios",
        str(REPO / "scenarios.yaml"),
    ]
    for args in (["demo"], ["backtest", "--from", "2025-01-06", "--to", "2025-04-13"]):
        res = CliRunner().invoke(cli, [*base, *args])
        assert res.exit_code == 0, res.output
    return tmp / "reports"


def dom(page: Path) -> Any:
    text = browse("--dump-dom", page.as_uri())
    assert "</html>" in text, "the browser returned the page it built"
    return lxml_html.fromstring(text)


def check_safe(doc: Any) -> None:
    assert not doc.xpath("//script | //iframe | //object | //embed"), (
        "no script, no embedded content"
    )
    handlers = [
        a
        for el in doc.iter()
        if isinstance(el.tag, str)
        for a in el.attrib
        if a.lower().startswith("on")
    ]
    assert not handlers, handlers
    for href in doc.xpath(
        "//a/@href | //link/@href | //*[local-name()='a']/@*[local-name()='href']"
    ):
        scheme = href.split(":", 1)[0].lower() if ":" in href.split("/", 1)[0] else ""
        assert scheme in ("http", "https") or (not scheme and not href.startswith("//")), href


def test_weekly_digest_in_chromium(reports: Path) -> None:
    doc = dom(reports / "2025-W15.html")
    check_safe(doc)
    trends = doc.xpath("//section[@class='trends']//div[@class='trend']")
    assert len(trends) == 19, "one chart per rupture"
    for div in trends:
        svg = div.xpath(".//*[local-name()='svg']")
        assert len(svg) == 1 and len(svg[0].xpath(".//*[local-name()='g']")) == 52
        assert len(svg[0].xpath(".//*[local-name()='g'][contains(@class, 'current')]")) == 1
    gaining = doc.xpath("//section[@class='rupture']//*[local-name()='svg']")
    assert gaining, "the ruptures that moved have their chart in their section too"
    assert doc.xpath("//*[local-name()='path'][contains(@class, 'gain')]"), (
        "the demo's gaining week is marked"
    )
    index = dom(reports / "index.html")
    check_safe(index)
    assert index.xpath("//a[@href='2025-W15.html']")


def test_history_page_in_chromium(reports: Path, tmp_path: Path) -> None:
    page = reports / "history/index.html"
    doc = dom(page)
    check_safe(doc)
    sections = doc.xpath("//section[@class='rupture']")
    assert len(sections) == 19
    for s in sections:
        svg = s.xpath(".//*[local-name()='svg']")
        assert (
            len(svg) == 1 and len(svg[0].xpath(".//*[local-name()='g']")) == 14
        )  # the demo's 14 weeks
    assert doc.xpath("//a[@href='weeks.csv']") and (reports / "history/weeks.csv").is_file()
    shot = tmp_path / "history.png"
    browse("--window-size=1100,1400", f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
