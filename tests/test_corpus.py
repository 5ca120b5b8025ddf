"""``signals.corpus``: the one JSON Lines reader and its bad-line policy (an error naming the
line unless ``skip_invalid``), the documents ``eval``/``train`` read, and ``import_jsonl``."""

from __future__ import annotations

import gzip
import io
import json
import lzma
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from signals.corpus import (
    MAX_SHOWN_ERRORS,
    LineStats,
    check_field_map,
    export_matches,
    import_jsonl,
    read_documents,
    read_jsonl,
)
from signals.errors import InputError
from signals.store import open_store
from signals.store import schema as t

NOW = datetime(2024, 1, 10, tzinfo=UTC)
GOOD = {
    "url": "https://ex.org/a",
    "title": "t",
    "text": "La monnaie locale.",
    "published": "2024-01-02",
    "source": "Ex Média",
}


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ident(obj: dict[str, Any]) -> dict[str, Any]:
    return obj


# --------------------------------------------------------------------------- read_jsonl


def test_a_bad_line_is_one_line_error_naming_file_and_line(tmp_path: Path) -> None:
    p = _write(tmp_path / "c.jsonl", [json.dumps({"n": 1}), "", "[1, 2]", "{broken"])
    with pytest.raises(InputError) as e:
        list(read_jsonl(p, _ident))
    msg = str(e.value)
    assert (
        msg == f"{p}:3: not a JSON object (pass --skip-invalid to skip bad lines)"
    )  # blank line 2 counts
    assert "\n" not in msg


def test_skip_invalid_skips_and_counts_bad_lines(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "c.jsonl", [json.dumps({"n": 1}), "{broken", "", "42", json.dumps({"n": 2})]
    )
    stats = LineStats()
    assert list(read_jsonl(p, _ident, skip_invalid=True, stats=stats)) == [{"n": 1}, {"n": 2}]
    assert (stats.lines, stats.invalid) == (4, 2)  # blank lines are not lines
    assert stats.errors[0].startswith(f"{p}:2: not JSON (")
    assert stats.errors[1] == f"{p}:4: not a JSON object"


def test_parse_decides_what_is_bad_and_what_is_just_not_wanted(tmp_path: Path) -> None:
    p = _write(tmp_path / "c.jsonl", [json.dumps({"n": i}) for i in range(6)])

    def parse(obj: dict[str, Any]) -> int | None:
        if obj["n"] == 4:
            raise ValueError("'n' must not be 4")
        return None if obj["n"] % 2 else int(obj["n"])  # odd: not wanted, not an error

    with pytest.raises(InputError, match=r"c\.jsonl:5: 'n' must not be 4"):
        list(read_jsonl(p, parse))
    stats = LineStats()
    assert list(read_jsonl(p, parse, skip_invalid=True, stats=stats)) == [0, 2]
    assert stats.invalid == 1


def test_sample_and_limit(tmp_path: Path) -> None:
    p = _write(tmp_path / "c.jsonl", [json.dumps({"n": i}) for i in range(10)])
    assert [o["n"] for o in read_jsonl(p, _ident, sample=3)] == [0, 3, 6, 9]
    assert [o["n"] for o in read_jsonl(p, _ident, limit=4)] == [0, 1, 2, 3]
    assert [o["n"] for o in read_jsonl(p, _ident, sample=2, limit=2)] == [0, 2]


def test_compressed_files_and_unreadable_ones(tmp_path: Path) -> None:
    body = (json.dumps({"n": 1}) + "\n" + json.dumps({"n": 2}) + "\n").encode()
    gz, xz = tmp_path / "c.jsonl.gz", tmp_path / "c.jsonl.xz"
    gz.write_bytes(gzip.compress(body))
    xz.write_bytes(lzma.compress(body))
    assert [o["n"] for o in read_jsonl(gz, _ident)] == [1, 2]
    assert [o["n"] for o in read_jsonl(xz, _ident)] == [1, 2]
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match=r"broken\.jsonl\.gz: cannot read"):
        list(read_jsonl(broken, _ident))


def test_unknown_field_names_are_refused() -> None:
    check_field_map({"published": "date", "text": "description"})
    with pytest.raises(InputError, match=r"unknown field in --field: dat \(valid: url, title"):
        check_field_map({"dat": "date"})


# --------------------------------------------------------------------------- read_documents


def test_documents_use_aliases_field_map_and_wanted_urls(tmp_path: Path) -> None:
    tv = _write(
        tmp_path / "tv.jsonl",
        [
            json.dumps(
                {
                    "url": "https://tv/1",
                    "title": "T1",
                    "description": "texte 1",
                    "date": "2019-03-01",
                    "media": "TF1",
                }
            ),
            json.dumps({"url": "https://tv/2", "title": "T2", "description": "texte 2"}),
        ],
    )
    lm = _write(
        tmp_path / "lm.jsonl", [json.dumps({"link": "https://lm/1", "title": "L1", "summary": "s"})]
    )
    docs = read_documents([tv, lm], {"https://tv/1", "https://lm/1"})
    assert set(docs) == {"https://tv/1", "https://lm/1"}
    d = docs["https://tv/1"]
    assert (d.title, d.text, d.published, d.source) == ("T1", "texte 1", "2019-03-01", "TF1")
    assert docs["https://lm/1"].text == "s"
    mapped = read_documents([tv], None, {"text": "title"})
    assert mapped["https://tv/2"].text == "T2"


def test_documents_follow_the_same_bad_line_policy(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "c.jsonl",
        [
            json.dumps({"url": "https://x/1", "title": "a"}),
            "{broken",
            json.dumps({"title": "no url"}),
        ],
    )
    with pytest.raises(InputError, match=r"c\.jsonl:2: not JSON"):
        read_documents([p])
    q = _write(tmp_path / "d.jsonl", [json.dumps({"title": "no url"})])
    with pytest.raises(InputError, match=r"d\.jsonl:1: no URL \(url/link or --field url=\.\.\.\)"):
        read_documents([q])
    assert set(read_documents([p], skip_invalid=True)) == {"https://x/1"}


# --------------------------------------------------------------------------- import / export


def test_import_lists_every_bad_line_and_writes_nothing(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    p = _write(
        tmp_path / "bad.jsonl",
        [
            json.dumps(GOOD),
            "{not json",
            json.dumps({**GOOD, "url": "ftp://x"}),
            json.dumps({**GOOD, "source": ""}),
        ],
    )
    with pytest.raises(InputError) as e:
        import_jsonl(store, p, lambda: NOW)
    msg = str(e.value)
    assert msg.startswith("3 invalid line(s); nothing imported")
    assert [ln.split(": ")[0] for ln in msg.splitlines()[1:]] == [f"{p}:2", f"{p}:3", f"{p}:4"]
    with store.engine.connect() as c:
        assert c.execute(select(t.articles)).all() == []
    rep = import_jsonl(store, p, lambda: NOW, skip_invalid=True)
    assert (rep.lines, rep.imported, rep.known, rep.invalid, len(rep.errors)) == (4, 1, 0, 3, 3)
    with store.engine.connect() as c:
        src = c.execute(select(t.sources.c.id, t.sources.c.name, t.sources.c.kind)).one()
    assert tuple(src) == ("import-ex-m-dia", "Ex Média", "import")
    again = import_jsonl(store, p, lambda: NOW, skip_invalid=True)
    assert (again.imported, again.known) == (0, 1)
    store.dispose()


def test_import_shows_at_most_the_first_errors(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    p = _write(tmp_path / "bad.jsonl", ["{x"] * (MAX_SHOWN_ERRORS + 5))
    with pytest.raises(InputError, match=r"\.\.\. and 5 more$"):
        import_jsonl(store, p, lambda: NOW)
    store.dispose()


def test_import_field_map_and_limit_then_export(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    lines = [
        json.dumps(
            {
                "url": f"https://ex.org/{i}",
                "title": f"t{i}",
                "description": "texte",
                "date": "2024-01-02",
                "media": "TF1",
            }
        )
        for i in range(5)
    ]
    p = _write(tmp_path / "c.jsonl", lines)
    fields = {"text": "description", "published": "date", "source": "media"}
    rep = import_jsonl(store, p, lambda: NOW, fields, limit=3)
    assert (rep.lines, rep.imported) == (3, 3)
    with store.engine.connect() as c:
        rows = c.execute(select(t.articles.c.url, t.articles.c.week, t.articles.c.state)).all()
    assert sorted(r.url for r in rows) == [
        "https://ex.org/0",
        "https://ex.org/1",
        "https://ex.org/2",
    ]
    assert {(r.week, r.state) for r in rows} == {("2024-W01", "ready")}
    out = io.StringIO()
    assert (
        export_matches(store, datetime(2024, 1, 1, tzinfo=UTC), NOW, out, "csv") == 0
    )  # not processed yet
    assert out.getvalue().startswith("url,title,source,published,rupture_id")
    store.dispose()


def test_eval_and_train_take_skip_invalid(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from signals.cli import cli

    repo_dir = Path(__file__).resolve().parents[1]
    labels = _write(
        tmp_path / "l.jsonl", [json.dumps({"id": "https://ex.org/a", "split": "dev", "labels": []})]
    )
    corpus = _write(tmp_path / "c.jsonl", [json.dumps(GOOD), "{broken"])
    base = ["--scenarios", str(repo_dir / "scenarios.yaml")]
    for cmd in (
        ["eval", str(labels), "--corpus", str(corpus)],
        ["train", str(labels), "--corpus", str(corpus), "-o", str(tmp_path / "m.json")],
    ):
        res = CliRunner().invoke(cli, [*base, *cmd])
        assert res.exit_code == 2, res.output
        assert res.output.strip().startswith(f"error: {corpus}:2: not JSON (")
        assert len(res.output.strip().splitlines()) == 1
    res = CliRunner().invoke(
        cli, [*base, "eval", str(labels), "--corpus", str(corpus), "--skip-invalid"]
    )
    assert res.exit_code == 0, res.output
    assert "1 labelled records used, 0 not found" in res.output
