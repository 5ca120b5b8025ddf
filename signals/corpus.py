"""JSON Lines corpora: the one reader (``read_jsonl``) behind ``import``, ``tune``, ``eval`` and
``train``; import as articles; export matches as JSON Lines or CSV.

Bad lines, one policy for every command: a line that is not a JSON object, or that the command
cannot use (``import``: no http(s) ``url``, no text...), is an error naming the file and line
(``corpus.jsonl:12: not JSON (...)``, exit 2) unless ``--skip-invalid`` is given, in which case it
is skipped and counted. Blank lines are ignored. ``import`` validates the whole file before writing
and lists every bad line (nothing is written, so a typo never leaves half a corpus behind).
Files ending in ``.gz`` or ``.xz`` are read compressed. ``field_map`` renames fields of other
corpora, e.g. ``{"published": "date", "source": "media", "text": "description"}``.
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
from typing import IO, Any, TypeVar

from .errors import InputError
from .fetch import canonicalize, effective_date
from .progress import NO_PROGRESS, Progress
from .score import iso_week
from .settings import parse_now
from .store import Store, repo

FIELDS = ("url", "title", "text", "html", "published", "source", "language")
BATCH = 500
MAX_SHOWN_ERRORS = 20
SKIP_HINT = "pass --skip-invalid to skip bad lines"
T = TypeVar("T")


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


@dataclass
class LineStats:
    """What ``read_jsonl`` met: non-blank lines read, bad lines skipped (the first
    ``MAX_SHOWN_ERRORS`` as ``path:line: reason``)."""

    lines: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)


def read_jsonl(
    path: Path,
    parse: Callable[[dict[str, Any]], T | None],
    skip_invalid: bool = False,
    sample: int = 1,
    limit: int | None = None,
    stats: LineStats | None = None,
) -> Iterator[T]:
    """The records of a JSON Lines file, in order: ``parse`` turns each JSON object into a record,
    returns None for one the caller does not want (not an error), or raises ``ValueError`` for
    one it cannot use. A bad line raises ``InputError`` (``path:line: reason``, one line) unless
    ``skip_invalid``; then it is counted in ``stats``. Reads every ``sample``-th non-blank line
    and at most ``limit`` of them; an unreadable file is an ``InputError`` too."""
    stats = stats if stats is not None else LineStats()
    seen = 0
    try:
        with _open_text(path) as fh:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                seen += 1
                if sample > 1 and (seen - 1) % sample:
                    continue
                if limit is not None and stats.lines >= limit:
                    return
                stats.lines += 1
                try:
                    rec = parse(_json_object(raw))
                except ValueError as e:
                    where = f"{path}:{lineno}: {e}"
                    if not skip_invalid:
                        raise InputError(f"{where} ({SKIP_HINT})") from None
                    stats.invalid += 1
                    if len(stats.errors) < MAX_SHOWN_ERRORS:
                        stats.errors.append(where)
                    continue
                if rec is not None:
                    yield rec
    except (OSError, EOFError, lzma.LZMAError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read: {e}") from None


def _json_object(raw: str) -> dict[str, Any]:
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return obj


def check_field_map(field_map: Mapping[str, str]) -> None:
    """``--field OURS=THEIRS`` must name one of our fields."""
    unknown = set(field_map) - set(FIELDS)
    if unknown:
        raise InputError(
            f"unknown field in --field: {', '.join(sorted(unknown))} (valid: {', '.join(FIELDS)})"
        )


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return ("import-" + s)[:100] if s else "import"


def _import_record(obj: dict[str, Any], field_map: Mapping[str, str]) -> dict[str, Any]:
    """A line ``import`` can store, or ``ValueError`` saying why not."""
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


def import_jsonl(
    store: Store,
    path: Path,
    clock: Callable[[], datetime],
    field_map: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    default_language: str = "fr",
    limit: int | None = None,
    progress: Progress = NO_PROGRESS,
    period: tuple[datetime, datetime] | None = None,
) -> ImportReport:
    """Import the lines of ``path``; with ``period`` (``[start, end)``), only those published then."""
    field_map = field_map or {}
    check_field_map(field_map)
    stats = LineStats()
    # skip here, decide below: every bad line is listed and nothing is written unless skip_invalid
    records: list[dict[str, Any]] = []
    out_of_range = 0

    def parse(obj: dict[str, Any]) -> dict[str, Any] | None:
        nonlocal out_of_range
        rec = _import_record(obj, field_map)
        if period is not None and not (
            rec["published"] is not None and period[0] <= rec["published"] < period[1]
        ):
            out_of_range += 1
            return None
        return rec

    with progress.task("import: read", total=limit) as bar:
        for rec in read_jsonl(path, parse, skip_invalid=True, limit=limit, stats=stats):
            records.append(rec)
            bar.advance()
    report = ImportReport(
        lines=stats.lines, invalid=stats.invalid, errors=stats.errors, out_of_range=out_of_range
    )
    if report.invalid and not skip_invalid:
        more = report.invalid - len(report.errors)
        tail = f"\n... and {more} more" if more > 0 else ""
        raise InputError(
            f"{report.invalid} invalid line(s); nothing imported "
            f"(fix them or pass --skip-invalid):\n" + "\n".join(report.errors) + tail
        )
    with progress.task("import: write", total=len(records)) as bar:
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            _write_batch(store, clock, batch, default_language, report)
            bar.advance(len(batch))
    return report


def _write_batch(
    store: Store,
    clock: Callable[[], datetime],
    records: list[dict[str, Any]],
    default_language: str,
    report: ImportReport,
) -> None:
    with store.begin() as conn:
        now = clock()
        for rec in records:
            source_id = _slug(rec["source"])
            lang = (rec["language"] or default_language)[:8]
            repo.ensure_import_source(conn, source_id, lang)
            repo.update_source(conn, source_id, name=rec["source"][:300])
            published, flag = effective_date(rec["published"], now)
            art = repo.NewArticle(
                url=canonicalize(rec["url"]) or rec["url"],
                guid=None,
                title=rec["title"] or "",
                summary="",
                published_at=published,
                published_raw=rec["published"],
                date_flag=flag,
                week=iso_week(published),
                language=lang,
                state="ready",
                html=rec["html"],
                text=rec["text"] or "",
            )
            _, is_new = repo.add_article(conn, art, source_id, now)
            if is_new:
                report.imported += 1
            else:
                report.known += 1


EXPORT_COLUMNS = (
    "url",
    "title",
    "source",
    "published",
    "rupture_id",
    "item_id",
    "kind",
    "sentence",
    "score",
    "accepted",
    "reasons",
)


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
                out.write(
                    json.dumps({k: row[k] for k in EXPORT_COLUMNS}, ensure_ascii=False) + "\n"
                )
                n += 1
    return n


#: Field names other corpora use, tried when ours is absent (``eval`` / ``train`` read several
#: corpora in one run: the TV news says ``description``/``date``/``media``, Le Monde ``link``).
ALIASES = {
    "url": ("link",),
    "text": ("description", "summary"),
    "published": ("date", "pubDate"),
    "source": ("media",),
}


@dataclass(frozen=True)
class Document:
    url: str
    title: str
    text: str
    published: str | None
    source: str | None


def read_documents(
    paths: list[Path],
    wanted: set[str] | None = None,
    field_map: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
) -> dict[str, Document]:
    """URL → document for the lines of JSON Lines corpora (``.gz``/``.xz`` read directly),
    keeping only ``wanted`` URLs when given. A line that is not a JSON object with a URL is bad
    (see the module's policy: an error unless ``skip_invalid``)."""
    field_map = field_map or {}

    def get(obj: dict[str, Any], f: str) -> Any:
        if f in field_map:
            return obj.get(field_map[f])
        for name in (f, *ALIASES.get(f, ())):
            if obj.get(name) is not None:
                return obj[name]
        return None

    def document(obj: dict[str, Any]) -> Document | None:
        url = get(obj, "url")
        if not isinstance(url, str):
            raise ValueError(f"no URL ({'/'.join(('url', *ALIASES['url']))} or --field url=...)")
        if wanted is not None and url not in wanted:
            return None
        return Document(
            url,
            str(get(obj, "title") or ""),
            str(get(obj, "text") or ""),
            get(obj, "published"),
            get(obj, "source"),
        )

    out: dict[str, Document] = {}
    for path in paths:
        for doc in read_jsonl(path, document, skip_invalid):
            out[doc.url] = doc
    return out
