"""Analysts' feedback: ``export --review`` writes a spreadsheet of judged articles with an empty
``verdict`` column; ``labels import`` stores the verdicts; ``labels export`` turns them into label
records for ``eval`` and ``train``.

Verdicts: ``right`` (also yes/y/1/ok/confirmed) or ``wrong`` (no/n/0/rejected); an empty cell
is skipped. A rejected article leaves every count at once; a confirmed one counts even if the
judge did not accept it, and is marked in the digest. The whole file is checked first: with any
bad row nothing is stored and every bad row is listed with its line number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .errors import InputError
from .labels import Label, LabelRecord
from .models import Polarity
from .store import Store, repo

REVIEW_COLUMNS = (
    "article_id",
    "url",
    "title",
    "source",
    "published",
    "rupture",
    "polarity",
    "score",
    "accepted",
    "reasons",
    "sentence",
    "verdict",
    "note",
)
RIGHT = frozenset({"right", "yes", "y", "1", "ok", "true", "confirmed", "oui", "o"})
WRONG = frozenset({"wrong", "no", "n", "0", "false", "rejected", "non"})
MAX_SHOWN_ERRORS = 20


def export_review(
    store: Store,
    start: datetime,
    end: datetime,
    out: IO[str],
    include_rejected: bool,
    min_score: float = 0.0,
) -> int:
    writer = csv.DictWriter(out, fieldnames=REVIEW_COLUMNS)
    writer.writeheader()
    n = 0
    with store.engine.connect() as conn:
        for r in list(repo.review_rows(conn, start, end, include_rejected, min_score)):
            pol = Polarity(r["polarity"])
            writer.writerow(
                {
                    "article_id": r["id"],
                    "url": r["url"],
                    "title": r["title"],
                    "source": r["source"] or "",
                    "published": r["published_at"].isoformat(),
                    "rupture": r["rupture_id"],
                    "polarity": str(pol),
                    "score": f"{r['score']:.3f}",
                    "accepted": "yes" if r["accepted"] else "no",
                    "reasons": "; ".join(r["reasons"] or ()),
                    "sentence": repo.best_sentence(
                        conn, r["id"], r["rupture_id"], repo.kinds_of(pol)
                    ),
                    "verdict": {"confirmed": "right", "rejected": "wrong"}.get(
                        r["verdict"] or "", ""
                    ),
                    "note": r["note"] or "",
                }
            )
            n += 1
    return n


@dataclass(frozen=True)
class ImportReport:
    rows: int
    stored: int
    confirmed: int
    rejected: int
    skipped: int  # no verdict given


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = {"article_id", "rupture", "polarity", "verdict"} - set(
                reader.fieldnames or ()
            )
            if missing:
                raise InputError(
                    f"{path}: missing column(s) {', '.join(sorted(missing))} "
                    f"(write the file with `signals export --review`)"
                )
            for row in reader:
                yield (
                    reader.line_num,
                    {k: (v or "").strip() for k, v in row.items() if k is not None},
                )
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path}: cannot read: {e}") from None


def import_verdicts(store: Store, path: Path, who: str, now: datetime) -> ImportReport:
    if not who.strip():
        raise InputError("--who must name the analyst")
    rupture_ids: set[str] | None = None
    parsed: list[dict[str, Any]] = []
    errors: list[str] = []
    n = skipped = 0
    rows = list(_rows(path))
    with store.engine.connect() as conn:
        ids = {int(r["article_id"]) for _, r in rows if r.get("article_id", "").isdigit()}
        known_articles = repo.existing_article_ids(conn, sorted(ids))
        rupture_ids = repo.judged_ruptures(conn)
    for line, r in rows:
        n += 1
        verdict = r.get("verdict", "").lower()
        if not verdict:
            skipped += 1
            continue
        problems = []
        if verdict not in RIGHT | WRONG:
            problems.append(f"verdict {r['verdict']!r} is not right/wrong (or yes/no)")
        aid = r.get("article_id", "")
        if not aid.isdigit() or int(aid) not in known_articles:
            problems.append(f"article_id {aid!r} is not an article of this database")
        if r.get("polarity") not in ("evidence", "counter"):
            problems.append(f"polarity {r.get('polarity')!r} is not evidence/counter")
        if rupture_ids is not None and r.get("rupture") not in rupture_ids:
            problems.append(f"rupture {r.get('rupture')!r} is unknown")
        if problems:
            errors.append(f"{path}:{line}: " + "; ".join(problems))
            continue
        parsed.append(
            {
                "article_id": int(aid),
                "rupture_id": r["rupture"],
                "polarity": r["polarity"],
                "verdict": "confirmed" if verdict in RIGHT else "rejected",
                "who": who.strip()[:200],
                "at": now,
                "note": r.get("note", "")[:2000],
            }
        )
    if errors:
        more = len(errors) - MAX_SHOWN_ERRORS
        raise InputError(
            f"{len(errors)} invalid row(s); nothing stored:\n"
            + "\n".join(errors[:MAX_SHOWN_ERRORS])
            + (f"\n... and {more} more" if more > 0 else "")
        )
    with store.begin() as conn:
        repo.save_verdicts(conn, parsed)
    confirmed = sum(1 for p in parsed if p["verdict"] == "confirmed")
    return ImportReport(n, len(parsed), confirmed, len(parsed) - confirmed, skipped)


def verdict_records(store: Store) -> list[LabelRecord]:
    """Stored verdicts as label records (scope: the rupture; split: feedback)."""
    out = []
    with store.engine.connect() as conn:
        for v in repo.all_verdicts(conn):
            labels: tuple[Label, ...] = ()
            if v["verdict"] == "confirmed":
                labels = (
                    Label(
                        v["rupture_id"],
                        Polarity(v["polarity"]),
                        None,
                        "high",
                        None,
                        f"analyst {v['who']}",
                    ),
                )
            out.append(
                LabelRecord(
                    id=v["url"],
                    scope=v["rupture_id"],
                    labels=labels,
                    split="feedback",
                    date=v["published_at"].date().isoformat(),
                    drawn_by="analyst",
                )
            )
    return out
