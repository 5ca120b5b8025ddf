"""What the emerging-terms map reads (:mod:`signals.emerging`): each rupture's evidence of a
window of weeks, with texts and entities, and a sample of every article analysed in it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, func, select

from ..emerging import BackgroundDoc, EvidenceDoc
from ..models import Polarity
from . import schema as t
from .repo import counted, stored_analyses

_CHUNK = 500


def window_evidence(conn: Connection, weeks: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
    """rupture → (article id, week) of its counted evidence in ``weeks`` (copies collapsed)."""
    c = counted(Polarity.EVIDENCE)
    q = (
        select(c.c.rupture_id, t.articles.c.id, t.articles.c.week)
        .join(t.articles, t.articles.c.id == c.c.article_id)
        .where(t.articles.c.week.in_(list(weeks)), t.articles.c.dup_of.is_(None))
        .distinct()
        .order_by(c.c.rupture_id, t.articles.c.id)
    )
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for rid, aid, week in conn.execute(q).all():
        out[str(rid)].append((int(aid), str(week)))
    return dict(out)


def _texts(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """id → (language, text) from the stored analyses (the sentences joined)."""
    return {
        a.article_id: (a.language, " ".join(s for s, _ in a.sentences))
        for a in stored_analyses(conn, ids)
    }


def entity_names(
    conn: Connection, ids: Sequence[int], labels: Sequence[str] = ("PER", "ORG", "LOC")
) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = defaultdict(list)
    for i in range(0, len(ids), _CHUNK):
        q = (
            select(t.entities.c.article_id, t.entities.c.text)
            .where(
                t.entities.c.article_id.in_(list(ids[i : i + _CHUNK])),
                t.entities.c.label.in_(list(labels)),
            )
            .order_by(t.entities.c.article_id, t.entities.c.text)
        )
        for aid, name in conn.execute(q).all():
            out[int(aid)].append(str(name))
    return {k: tuple(v) for k, v in out.items()}


def evidence_docs(conn: Connection, rows: Sequence[tuple[int, str]]) -> list[EvidenceDoc]:
    """The documents of :func:`window_evidence`'s rows (those with a stored analysis)."""
    ids = [aid for aid, _ in rows]
    texts, names = _texts(conn, ids), entity_names(conn, ids)
    return [
        EvidenceDoc(aid, week, texts[aid][1], texts[aid][0], names.get(aid, ()))
        for aid, week in rows
        if aid in texts
    ]


def background_docs(conn: Connection, weeks: Sequence[str], limit: int) -> list[BackgroundDoc]:
    """Articles analysed in ``weeks`` (copies collapsed), every k-th by id when more than
    ``limit``, each with its first source.

    The ids are read unordered and sorted here: ordered by id, SQLite read them through
    ``ix_articles_state`` (every analysed article of the history, 0.6 s on 1M articles) instead
    of ``ix_articles_week_state`` (the window's, 0.08 s); sources are read for the sample only."""
    a, links = t.articles, t.article_sources
    q = select(a.c.id).where(a.c.week.in_(list(weeks)), a.c.state == "done", a.c.dup_of.is_(None))
    ids = sorted(int(i) for i in conn.execute(q).scalars())
    step = -(-len(ids) // limit) if limit > 0 and len(ids) > limit else 1
    ids = ids[::step]
    sources: dict[int, str] = {}
    for i in range(0, len(ids), _CHUNK):
        sq = (
            select(links.c.article_id, func.min(links.c.source_id))
            .where(links.c.article_id.in_(ids[i : i + _CHUNK]))
            .group_by(links.c.article_id)
        )
        sources.update((int(aid), str(src or "")) for aid, src in conn.execute(sq).all())
    rows = [(i, sources.get(i, "")) for i in ids]
    texts = _texts(conn, ids)
    return [BackgroundDoc(i, texts[i][1], texts[i][0], s) for i, s in rows if i in texts]
