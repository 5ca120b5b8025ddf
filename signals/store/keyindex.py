"""Queries of the key index (``analysis_keys``): key → the articles whose stored analysis
contains it. Written with every analysis (``repo.store_analyses``); read by the
incremental re-match (``signals.rematch``) to find what an edited term can hit."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence

from sqlalchemy import Connection, bindparam, delete, select, text

from . import schema as t

#: Longer keys are indexed by their first MAX_KEY characters (and looked up so: a lookup may
#: find a few articles too many, never one too few).
MAX_KEY = 100
#: What separates clauses in the stored keys (``analyse.BREAK``): never a term's first key.
_BREAK = "|"
_CHUNK = 500


def indexed(key: str) -> str:
    """What ``key`` is indexed and looked up as."""
    return key[:MAX_KEY]


def keys_of(sentences: Iterable[Iterable[str]]) -> set[str]:
    """The distinct keys of an analysis (each sentence's keys), as indexed."""
    return {k[:MAX_KEY] for keys in sentences for k in keys if k != _BREAK}


def replace(
    conn: Connection,
    rows: Sequence[tuple[int, Collection[str]]],
    stored: Sequence[int] | None = None,
) -> None:
    """The keys of these articles, replacing what was indexed for them; ``stored``: those of
    the articles that may have keys indexed already (None: any of them)."""
    if not rows:
        return
    ids = [aid for aid, _ in rows] if stored is None else list(stored)
    for i in range(0, len(ids), _CHUNK):
        conn.execute(
            delete(t.analysis_keys).where(t.analysis_keys.c.article_id.in_(ids[i : i + _CHUNK]))
        )
    # one parameter row an article, split by the database: tens of thousands of tuples per batch
    # would each be Python objects, and the garbage collector walks the models' heap for them
    with_keys = [(aid, sorted(keys)) for aid, keys in rows if keys]
    if not with_keys:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(_INSERT_PG, with_keys)
    else:
        conn.exec_driver_sql(
            _INSERT_SQLITE, [(aid, json.dumps(keys, ensure_ascii=False)) for aid, keys in with_keys]
        )


_INSERT_SQLITE = 'INSERT INTO analysis_keys ("key", article_id) SELECT value, ? FROM json_each(?)'
_INSERT_PG = (
    'INSERT INTO analysis_keys ("key", article_id) SELECT k, %s FROM unnest(%s::varchar[]) AS k'
)


_WITH_KEYS = (
    select(t.analysis_keys.c.article_id)
    .where(t.analysis_keys.c.key.in_(bindparam("keys", expanding=True)))
    .distinct()
)


def articles_with(conn: Connection, keys: Collection[str]) -> set[int]:
    """The articles whose analysis contains any of ``keys``."""
    wanted = sorted({indexed(k) for k in keys})
    out: set[int] = set()
    for i in range(0, len(wanted), _CHUNK):
        chunk = {"keys": wanted[i : i + _CHUNK]}
        out.update(int(x) for x in conn.execute(_WITH_KEYS, chunk).scalars())
    return out


# One index probe per distinct language (ix_analyses_language), not a scan of every analysis.
_LANGUAGES = text(
    "WITH RECURSIVE langs(language) AS ("
    " SELECT MIN(language) FROM analyses"
    " UNION ALL"
    " SELECT (SELECT MIN(a.language) FROM analyses a WHERE a.language > langs.language)"
    " FROM langs WHERE langs.language IS NOT NULL"
    ") SELECT language FROM langs WHERE language IS NOT NULL"
)


def languages(conn: Connection) -> set[str]:
    """The languages of the stored analyses."""
    return {str(x) for x in conn.execute(_LANGUAGES).scalars()}
