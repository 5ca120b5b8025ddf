"""Label files: validation of every line first, round trip, splits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signals.errors import InputError
from signals.labels import by_split, read_labels, write_labels
from signals.models import Polarity

RUPTURES = ["my-data", "du-calme"]


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_round_trip_and_truth(tmp_path: Path) -> None:
    rows = [
        {
            "id": "https://ex.org/a",
            "split": "dev",
            "scope": "all",
            "drawn_by": "random",
            "labels": [
                {
                    "rupture": "my-data",
                    "label": "evidence",
                    "bullet": "E2",
                    "confidence": "high",
                    "span": "a short quote",
                }
            ],
        },
        {
            "id": "https://ex.org/b",
            "split": "test",
            "scope": "du-calme",
            "drawn_by": "matcher",
            "stream_weight": 3.5,
            "labels": [],
        },
    ]
    recs = read_labels([_write(tmp_path / "l.jsonl", rows)], RUPTURES)
    assert recs[0].truth("my-data") is Polarity.EVIDENCE and recs[0].truth("du-calme") is None
    assert recs[0].judged(RUPTURES) == RUPTURES and recs[1].judged(RUPTURES) == ["du-calme"]
    assert [r.id for r in by_split(recs, "test")] == ["https://ex.org/b"]
    out = tmp_path / "out.jsonl"
    write_labels(recs, out)
    assert read_labels([out], RUPTURES) == recs


def test_every_bad_line_is_listed_and_nothing_is_returned(tmp_path: Path) -> None:
    long_span = " ".join(["mot"] * 31)
    rows = [
        {"id": "https://ex.org/ok", "labels": []},
        "{not json",
        {"id": "not-a-url", "labels": []},
        {"id": "https://ex.org/c", "labels": [{"rupture": "nope", "label": "evidence"}]},
        {"id": "https://ex.org/d", "labels": [{"rupture": "my-data", "label": "maybe"}]},
        {
            "id": "https://ex.org/e",
            "labels": [{"rupture": "my-data", "label": "evidence", "span": long_span}],
        },
        {
            "id": "https://ex.org/f",
            "scope": "du-calme",
            "labels": [{"rupture": "my-data", "label": "counter"}],
        },
    ]
    with pytest.raises(InputError) as e:
        read_labels([_write(tmp_path / "l.jsonl", rows)], RUPTURES)
    msg = str(e.value)
    assert "6 invalid label line(s)" in msg
    for n in (2, 3, 4, 5, 6, 7):
        assert f"l.jsonl:{n}:" in msg
    assert "l.jsonl:1:" not in msg


def test_the_shipped_label_files_are_valid() -> None:
    from signals.config import load_scenarios

    repo = Path(__file__).resolve().parents[1]
    ids = [r.id for r in load_scenarios(repo / "scenarios.yaml").ruptures]
    recs = read_labels([repo / "labels" / "dev.jsonl", repo / "labels" / "test.jsonl"], ids)
    dev = [r for r in recs if r.split == "dev"]
    test = [r for r in recs if r.split == "test"]
    assert dev and test and len(dev) + len(test) == len(recs)
    assert not {r.id for r in dev if r.scope == "all"} & {r.id for r in test if r.scope == "all"}
    articles = [r for r in recs if r.scope == "all"]
    assert len(articles) >= 1000
    assert sum(1 for r in recs for lab in r.labels if lab.polarity is Polarity.EVIDENCE) >= 300
    assert sum(1 for r in recs if r.drawn_by == "matcher") >= 400


def test_the_round_comes_from_its_field_or_the_drawn_by_prefix(tmp_path: Path) -> None:
    base = {"split": "dev", "scope": "my-data", "labels": []}
    path = _write(
        tmp_path / "l.jsonl",
        [
            {**base, "id": "https://ex.org/a", "drawn_by": "matcher", "round": "r18"},
            {**base, "id": "https://ex.org/b", "drawn_by": "r7:query:my-data"},
            {**base, "id": "https://ex.org/c", "drawn_by": "matcher"},
        ],
    )
    assert [r.round for r in read_labels([path], RUPTURES)] == [18, 7, None]
    bad = _write(tmp_path / "b.jsonl", [{**base, "id": "https://ex.org/a", "round": "18"}])
    with pytest.raises(InputError, match="'round' must be like 'r18'"):
        read_labels([bad], RUPTURES)
