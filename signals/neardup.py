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
    BIGINT column on PostgreSQL and SQLite). Empty when the text is too short to compare.

    The signature is datasketch's ``MinHash`` (2.x, scheme ``affine32``, ``crc32`` of each
    shingle, seed ``_SEED``) computed here with numpy: the same values (a test compares them on
    real news), without importing datasketch, which imports scipy (0.4-0.9 s a process)."""
    if len(sh) < params.min_shingles:
        return []
    import numpy as np  # deferred: an idle run imports none of it

    a, b = _permutations(params.num_perm)
    hv = np.fromiter((zlib.crc32(s.encode("utf-8")) for s in sh), dtype=np.uint32, count=len(sh))
    if len(hv):
        hv ^= hv >> np.uint32(16)  # MurmurHash3's 32-bit finalizer, as datasketch pre-mixes
        hv *= np.uint32(0x85EBCA6B)
        hv ^= hv >> np.uint32(13)
        hv *= np.uint32(0xC2B2AE35)
        hv ^= hv >> np.uint32(16)
        signature = (hv[:, None] * a + b).min(axis=0)  # uint32 arithmetic wraps: mod 2**32
    else:
        signature = np.full(params.num_perm, 0xFFFFFFFF, dtype=np.uint32)
    values = signature.astype(np.uint64).reshape(params.bands, params.rows)
    out: list[tuple[int, int]] = []
    for i, band in enumerate(values):
        digest = hashlib.blake2b(band.tobytes(), digest_size=8).digest()
        out.append((i, int.from_bytes(digest, "big", signed=True)))
    return out


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
