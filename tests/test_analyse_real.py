"""The fast analysis path (token ids, cached keys per id, sentence text sliced from the doc) and
the cached MinHash permutations give exactly what the straightforward path gave, on real news:
the same sentences, the same keys, the same near-duplicate buckets (so no stored analysis or
band changes). The reference paths are written out here as they were before."""

from __future__ import annotations

import gzip
import json
import lzma
import zlib
from itertools import islice

import numpy as np
import pytest
from datasketch import MinHash

from signals import neardup
from signals.analyse import Analyser
from signals.models import Sentence
from signals.neardup import (
    _SEED,
    DEFAULT_PARAMS,
    NearDupParams,
    band_keys,
    band_keys_many,
    shingles,
)

from .conftest import shared


def _lemonde(n: int) -> list[str]:
    path = shared("feeds", "lemonde-rss-2022", "items_dedup.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = (json.loads(line) for line in fh)
        return [
            f"{r['title']}.\n{r['description']}" for r in islice(rows, n) if r.get("description")
        ]


def _tvnews(n: int) -> list[str]:
    path = shared("backtest", "fr-tvnews-2013-2022", "tvnews_fr2_fr3_tf1_2013_2022.jsonl.xz")
    with lzma.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line)["description"] for line in islice(fh, n)]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _lemonde(800) + _tvnews(200)


def _reference_sentences(analyser: Analyser, text: str, lang: str) -> list[Sentence]:
    """Sentences as ``Analyser._convert`` built them before: one ``Token`` per token."""
    norm = analyser.normaliser(lang)
    doc = analyser._tokenizer_nlp(lang)(text)
    out = []
    for sent in doc.sents:
        t = " ".join(sent.text.split())
        if t:
            out.append(Sentence(text=t, keys=tuple(k for tok in sent for k in norm.key(tok.text))))
    return out


def test_same_sentences_and_keys_as_the_token_path_on_real_news(texts: list[str]) -> None:
    analyser = Analyser(entities=False)
    docs = list(analyser.analyse_many((t, "fr") for t in texts))
    assert sum(len(d.sentences) for d in docs) > 3_000
    reference = Analyser(entities=False)  # its own caches: nothing shared with the fast path
    for text, doc in zip(texts, docs, strict=True):
        assert list(doc.sentences) == _reference_sentences(reference, text, "fr")
    again = list(analyser.analyse_many((t, "fr") for t in texts))  # the caches warm
    assert again == docs


def test_same_near_duplicate_buckets_as_a_fresh_minhash_on_real_news(texts: list[str]) -> None:
    p = DEFAULT_PARAMS
    compared = 0
    for text in texts[:300]:
        sh = shingles(text, p.shingle_words)
        if len(sh) < p.min_shingles:
            continue
        fresh = MinHash(num_perm=p.num_perm, seed=_SEED, hashfunc=zlib.crc32)
        fresh.update_batch([s.encode("utf-8") for s in sorted(sh)])
        values = np.asarray(fresh.hashvalues, dtype=np.uint64).reshape(p.bands, p.rows)
        assert [b for _, b in band_keys(sh, p)] == [
            int.from_bytes(_blake(band.tobytes()), "big", signed=True) for band in values
        ]
        compared += 1
    assert compared > 100


def _blake(data: bytes) -> bytes:
    import hashlib

    return hashlib.blake2b(data, digest_size=8).digest()


def test_a_batch_of_signatures_gives_each_texts_own_buckets(
    texts: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``band_keys_many`` (what ``process`` calls, a batch at a time, in chunks) gives each set
    what ``band_keys`` gives it alone; an empty set (``min_shingles`` 0) gets datasketch's
    signature of nothing."""
    p = DEFAULT_PARAMS
    sets = [shingles(text, p.shingle_words) for text in texts[:300]] + [frozenset()]
    one_by_one = [band_keys(sh, p) for sh in sets]
    assert sum(map(bool, one_by_one)) > 100 and one_by_one[-1] == []
    assert band_keys_many(sets, p) == one_by_one
    monkeypatch.setattr(neardup, "_CHUNK_SHINGLES", 500)  # many chunks, one text over the cap
    assert band_keys_many(sets, p) == one_by_one
    empty = MinHash(num_perm=p.num_perm, seed=_SEED, hashfunc=zlib.crc32).hashvalues
    values = np.asarray(empty, dtype=np.uint64).reshape(p.bands, p.rows)
    zero = NearDupParams(min_shingles=0)
    assert band_keys_many([frozenset(), sets[0]], zero) == [
        [
            (i, int.from_bytes(_blake(b.tobytes()), "big", signed=True))
            for i, b in enumerate(values)
        ],
        band_keys(sets[0], zero),
    ]
