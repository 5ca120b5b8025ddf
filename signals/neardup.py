"""Near-duplicate detection before the NLP: MinHash over word shingles, banded for LSH.

A wire story republished with another headline, a byline or one more paragraph is not an
exact copy, so the content hash misses it. Here each article body becomes a set of word
``k``-shingles; its MinHash signature is cut into ``bands`` bands of ``rows`` values, and two
articles sharing any band bucket are candidates. A candidate is confirmed only when the exact
Jaccard similarity of the two shingle sets reaches the threshold, so LSH only bounds the work;
it never decides alone. With 16 bands × 4 rows, a pair at Jaccard 0.7 shares a bucket with
probability 1 - (1 - 0.75⁴)¹⁶ ≈ 0.996.

The title is part of the text: leaving it out made RSS items that share a boilerplate summary
(live blogs, daily columns) look like copies; a retitled copy of a long story still clears the
threshold. Texts shorter than ``min_shingles`` shingles are never collapsed (too little text to
tell a copy from a brief).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

_WORD = re.compile(r"\w+", re.UNICODE)
_SEED = 20260101


@dataclass(frozen=True)
class NearDupParams:
    """How near-duplicates are found; ``threshold`` is the Jaccard similarity of shingle sets."""

    threshold: float = 0.75
    window_days: int = 7
    shingle_words: int = 5
    min_shingles: int = 20
    bands: int = 16
    rows: int = 4

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(folded)


def shingles(text: str, k: int) -> frozenset[str]:
    """The set of ``k``-word shingles of a text (case-folded, punctuation ignored)."""
    words = _words(text)
    if len(words) < k:
        return frozenset()
    return frozenset(" ".join(words[i : i + k]) for i in range(len(words) - k + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def band_keys(sh: frozenset[str], params: NearDupParams) -> list[tuple[int, int]]:
    """(band index, bucket) pairs of a shingle set; bucket is a signed 64-bit integer (fits a
    BIGINT column on PostgreSQL and SQLite). Empty when the text is too short to compare."""
    return band_keys_many([sh], params)[0]


#: At most this many shingles hashed in one numpy array (times 64 permutations, 4 bytes each).
_CHUNK_SHINGLES = 50_000


def band_keys_many(
    sets: Sequence[frozenset[str]], params: NearDupParams
) -> list[list[tuple[int, int]]]:
    """``band_keys`` of each shingle set, the signatures of many sets computed together.

    The signature is datasketch's ``MinHash`` (2.x, scheme ``affine32``, ``crc32`` of each
    shingle, seed ``_SEED``) computed here with numpy: the same values (a test compares them on
    real news), without importing datasketch, which imports scipy (0.4-0.9 s a process)."""
    out: list[list[tuple[int, int]]] = [[] for _ in sets]
    todo = [i for i, sh in enumerate(sets) if len(sh) >= params.min_shingles]
    chunk: list[int] = []
    size = 0
    for i in todo:
        if chunk and size + len(sets[i]) > _CHUNK_SHINGLES:
            _sign(sets, chunk, params, out)
            chunk, size = [], 0
        chunk.append(i)
        size += len(sets[i])
    if chunk:
        _sign(sets, chunk, params, out)
    return out


def _sign(
    sets: Sequence[frozenset[str]],
    chunk: list[int],
    params: NearDupParams,
    out: list[list[tuple[int, int]]],
) -> None:
    import numpy as np  # deferred: an idle run imports none of it

    a, b = _permutations(params.num_perm)
    signatures = np.full((len(chunk), params.num_perm), 0xFFFFFFFF, dtype=np.uint32)
    filled = [j for j, i in enumerate(chunk) if sets[i]]  # an empty set keeps the initial values
    if filled:
        lengths = [len(sets[chunk[j]]) for j in filled]
        hv = np.fromiter(
            (zlib.crc32(s.encode("utf-8")) for j in filled for s in sets[chunk[j]]),
            dtype=np.uint32,
            count=sum(lengths),
        )
        hv ^= hv >> np.uint32(16)  # MurmurHash3's 32-bit finalizer, as datasketch pre-mixes
        hv *= np.uint32(0x85EBCA6B)
        hv ^= hv >> np.uint32(13)
        hv *= np.uint32(0xC2B2AE35)
        hv ^= hv >> np.uint32(16)
        permuted = hv[:, None] * a + b  # uint32 arithmetic wraps: mod 2**32
        starts = np.cumsum([0, *lengths[:-1]])
        signatures[filled] = np.minimum.reduceat(permuted, starts, axis=0)
    values = signatures.astype(np.uint64).reshape(len(chunk), params.bands, params.rows)
    for j, i in enumerate(chunk):
        keys = out[i]
        for band, row in enumerate(values[j]):
            digest = hashlib.blake2b(row.tobytes(), digest_size=8).digest()
            keys.append((band, int.from_bytes(digest, "big", signed=True)))


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    """The seeded affine permutations (``a`` odd, ``b``) of ``num_perm`` hash functions, drawn
    once as datasketch draws them (drawing them per article was a third of the check)."""
    import numpy as np

    gen = np.random.RandomState(_SEED)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


#: The defaults of ``sources.yaml``'s ``dedup`` section.
DEFAULT_PARAMS = NearDupParams()
