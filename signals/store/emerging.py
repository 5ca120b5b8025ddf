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
    ``limit``, each with its first source."""
    a, links = t.articles, t.article_sources
    source = (
        select(func.min(links.c.source_id))
        .where(links.c.article_id == a.c.id)
        .scalar_subquery()
        .label("source")
    )
    q = (
        select(a.c.id, source)
        .where(a.c.week.in_(list(weeks)), a.c.state == "done", a.c.dup_of.is_(None))
        .order_by(a.c.id)
    )
    rows = [(int(i), str(s or "")) for i, s in conn.execute(q).all()]
    step = -(-len(rows) // limit) if limit > 0 and len(rows) > limit else 1
    rows = rows[::step]
    texts = _texts(conn, [i for i, _ in rows])
    return [BackgroundDoc(i, texts[i][1], texts[i][0], s) for i, s in rows if i in texts]
