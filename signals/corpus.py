"""Import a dated JSON Lines corpus as articles; export matches as JSON Lines or CSV.

Import validates the whole file first: with any invalid line nothing is written (unless the
caller asks to skip invalid lines), so a typo never leaves half a corpus behind. Files ending in
``.gz`` or ``.xz`` are read compressed. ``field_map`` renames fields of other corpora, e.g.
``{"published": "date", "source": "media", "text": "description"}``.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import lzma
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .errors import InputError
from .fetch import canonicalize, effective_date
from .score import iso_week
from .settings import parse_now
from .store import Store, repo

FIELDS = ("url", "title", "text", "html", "published", "source", "language")
BATCH = 500
MAX_SHOWN_ERRORS = 20


@dataclass
class ImportReport:
    lines: int = 0
    imported: int = 0
    known: int = 0  # canonical URL already in the store
    invalid: int = 0
    out_of_range: int = 0  # valid lines published outside the requested period
    errors: list[str] = field(default_factory=list)


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    if path.suffix == ".xz":
        return io.TextIOWrapper(lzma.open(path, "rb"), encoding="utf-8")
    return path.open("r", encoding="utf-8")


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return ("import-" + s)[:100] if s else "import"


def _parse_line(raw: str, field_map: Mapping[str, str]) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    rec = {f: obj.get(field_map.get(f, f)) for f in FIELDS}
    url = rec["url"]
    if not isinstance(url, str) or canonicalize(url) is None:
        raise ValueError(f"'url' must be an http(s) URL, got {url!r}")
    if not rec["text"] and not rec["html"] and not rec["title"]:
        raise ValueError("needs 'text', 'html' or at least a 'title'")
    for f in ("title", "text", "html", "source", "language"):
        if rec[f] is not None and not isinstance(rec[f], str):
            raise ValueError(f"'{f}' must be a string")
    if not rec["source"]:
        raise ValueError("'source' is missing")
    pub = rec["published"]
    if pub is not None:
        if not isinstance(pub, str):
            raise ValueError("'published' must be an ISO-8601 string")
        try:
            rec["published"] = parse_now(pub)
        except ValueError as e:
            raise ValueError(f"'published': {e}") from None
    return rec


def import_jsonl(store: Store, path: Path, clock: Callable[[], datetime], field_map: Mapping[str, str] | None = None,
                 skip_invalid: bool = False, default_language: str = "fr", limit: int | None = None,
                 period: tuple[datetime, datetime] | None = None) -> ImportReport:
    """Import the lines of ``path``; with ``period`` (``[start, end)``), only those published then."""
    field_map = field_map or {}
    unknown = set(field_map) - set(FIELDS)
    if unknown:
        raise InputError(f"unknown field in --field: {', '.join(sorted(unknown))} (valid: {', '.join(FIELDS)})")
    report = ImportReport()
    records: list[dict[str, Any]] = []
    try:
        with _open_text(path) as fh:
            for lineno, raw in enumerate(fh, 1):
                if limit is not None and report.lines >= limit:
                    break
                if not raw.strip():
                    continue
                report.lines += 1
                try:
                    rec = _parse_line(raw, field_map)
                    if period is not None and not (rec["published"] is not None
                                                   and period[0] <= rec["published"] < period[1]):
                        report.out_of_range += 1
                        continue
                    records.append(rec)
                except ValueError as e:
                    report.invalid += 1
                    if len(report.errors) < MAX_SHOWN_ERRORS:
                        report.errors.append(f"{path}:{lineno}: {e}")
    except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None
    if report.invalid and not skip_invalid:
        more = report.invalid - len(report.errors)
        tail = f"\n... and {more} more" if more > 0 else ""
        raise InputError(f"{report.invalid} invalid line(s); nothing imported "
                         f"(fix them or pass --skip-invalid):\n" + "\n".join(report.errors) + tail)
    for start in range(0, len(records), BATCH):
        with store.begin() as conn:
            now = clock()
            for rec in records[start:start + BATCH]:
                source_id = _slug(rec["source"])
                lang = (rec["language"] or default_language)[:8]
                repo.ensure_import_source(conn, source_id, lang)
                conn.execute(repo.t.sources.update().where(repo.t.sources.c.id == source_id)
                             .values(name=rec["source"][:300]))
                published, flag = effective_date(rec["published"], now)
                art = repo.NewArticle(
                    url=canonicalize(rec["url"]) or rec["url"], guid=None, title=rec["title"] or "",
                    summary="", published_at=published, published_raw=rec["published"], date_flag=flag,
                    week=iso_week(published), language=lang, state="ready",
                    html=rec["html"], text=rec["text"] or "")
                _, is_new = repo.add_article(conn, art, source_id, now)
                if is_new:
                    report.imported += 1
                else:
                    report.known += 1
    return report


EXPORT_COLUMNS = ("url", "title", "source", "published", "rupture_id", "item_id", "kind", "sentence",
                  "score", "accepted", "reasons")


def export_matches(store: Store, start: datetime, end: datetime, out: IO[str], fmt: str) -> int:
    """Write every match of articles published in [start, end); returns the row count."""
    n = 0
    with store.engine.connect() as conn:
        rows: Iterator[dict[str, Any]] = repo.export_rows(conn, start, end)
        if fmt == "csv":
            writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
                n += 1
        else:
            for row in rows:
                out.write(json.dumps({k: row[k] for k in EXPORT_COLUMNS}, ensure_ascii=False) + "\n")
                n += 1
    return n


def iter_objects(path: Path, sample: int = 1) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON Lines file (``.gz``/``.xz`` read directly), every ``sample``-th
    line; lines that are not a JSON object are skipped (read-only look-ups: ``tune``, ``eval``,
    ``train``; ``import`` validates every line instead). An unreadable file is an error."""
    try:
        with _open_text(path) as fh:
            for i, raw in enumerate(fh):
                if sample > 1 and i % sample:
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    yield obj
    except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None


#: Field names other corpora use, tried when ours is absent (``eval`` / ``train`` read several
#: corpora in one run: the TV news says ``description``/``date``/``media``, Le Monde ``link``).
ALIASES = {"url": ("link",), "text": ("description", "summary"), "published": ("date", "pubDate"),
           "source": ("media",)}


@dataclass(frozen=True)
class Document:
    url: str
    title: str
    text: str
    published: str | None
    source: str | None


def read_documents(paths: list[Path], wanted: set[str] | None = None,
                   field_map: Mapping[str, str] | None = None) -> dict[str, Document]:
    """URL → document for the lines of JSON Lines corpora (``.gz``/``.xz`` read directly),
    keeping only ``wanted`` URLs when given. Unreadable lines are skipped (these are read-only
    look-ups, not imports); an unreadable file is an error."""
    field_map = field_map or {}

    def get(obj: dict[str, Any], f: str) -> Any:
        if f in field_map:
            return obj.get(field_map[f])
        for name in (f, *ALIASES.get(f, ())):
            if obj.get(name) is not None:
                return obj[name]
        return None

    out: dict[str, Document] = {}
    for path in paths:
        for obj in iter_objects(path):
            url = get(obj, "url")
            if not isinstance(url, str) or (wanted is not None and url not in wanted):
                continue
            out[url] = Document(url, str(get(obj, "title") or ""), str(get(obj, "text") or ""),
                                get(obj, "published"), get(obj, "source"))
    return out
