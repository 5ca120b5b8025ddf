"""`signals status`: never-fetched feeds are `new`, imported corpora are listed apart."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from signals.cli import cli
from signals.devserver import Response, serve

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>Un article</title><link>http://127.0.0.1/a1</link></item></channel></rss>"""


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


def _state(out: str, source: str) -> str:
    line = next(ln for ln in out.splitlines() if ln.startswith(source + " "))
    return line.split()[1]


def test_new_then_ok_and_imports_listed_apart(tmp_path: Path) -> None:
    def router(_path: str, _headers: dict[str, str]) -> Response:
        return Response(200, RSS, {"Content-Type": "application/rss+xml"})

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(
            json.dumps(
                {
                    "url": f"https://ex.org/{i}",
                    "title": "t",
                    "text": "Un texte.",
                    "published": "2024-01-02",
                    "source": "tvnews",
                }
            )
            + "\n"
            for i in range(3)
        ),
        encoding="utf-8",
    )
    with serve(router) as srv:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "defaults: {fetch_pages: false}\nfetch: {allow_networks: [127.0.0.0/8]}\nsources:\n"
            f"  - {{id: feed-a, name: A, url: '{srv.base_url}/a.xml'}}\n",
            encoding="utf-8",
        )
        base = ["--db", f"sqlite:///{tmp_path / 's.db'}", "--sources", str(sources)]
        assert _run(*base, "--now", "2024-01-05", "import", str(corpus))[0] == 0
        code, out = _run(*base, "status")
        assert code == 0, out
        assert _state(out, "feed-a") == "new"
        assert "imported (not fetched): 1" in out
        imported = out.split("imported (not fetched): 1", 1)[1]
        assert "import-tvnews" in imported and "3 articles" in imported
        assert not any(
            ln.startswith("import-tvnews ") for ln in out.splitlines()
        )  # not among the feeds
        assert _run(*base, "fetch")[0] == 0
        code, out = _run(*base, "status")
        assert _state(out, "feed-a") == "ok"
        code, out = _run(*base, "status", "--json")
        data = {s["id"]: s for s in json.loads(out)["sources"]}
        assert (data["feed-a"]["state"], data["feed-a"]["articles"]) == ("ok", 1)
        assert (
            data["import-tvnews"]["state"],
            data["import-tvnews"]["kind"],
            data["import-tvnews"]["articles"],
        ) == ("import", "import", 3)
