"""The JSON digest keeps every documented key, adds each article's sentences with their spans,
and reads back files written before they existed."""

from __future__ import annotations

import json

from signals.report.json_io import digest_from_json, render_json

from ..test_report import make_digest, sorted_digest


def test_sentences_with_spans_round_trip() -> None:
    d = make_digest()
    o = json.loads(render_json(d))
    a = o["ruptures"][0]["articles"][0]
    assert a["sentences"] == [
        {"text": a["sentence"], "spans": [[2, 9], [15, 31]], "item_ids": ["monnaies-alternatives"]}
    ]
    assert digest_from_json(render_json(d)) == sorted_digest(d)


def test_a_digest_written_before_sentences_reads_back() -> None:
    o = json.loads(render_json(make_digest()))
    for r in o["ruptures"]:
        for a in [*r["articles"], *r["counter_evidence"]]:
            del a["sentences"]
    back = digest_from_json(json.dumps(o))
    assert all(a.sentences == () for r in back.ruptures for a in r.articles)
