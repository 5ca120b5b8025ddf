"""Schema migrations (Alembic): where a database stands, and bringing it to the head revision.

Runs inside the caller's write transaction, which holds the lock ``Store.upgrade`` takes: all
pending revisions commit together or not at all. A database made by release 0.1.0
(``create_all``, no ``alembic_version`` table) is checked against the frozen baseline and
stamped as revision 0001; an empty database is built by running every revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, select, text

from ..errors import NoDatabaseError, StoreError
from .migrations import baseline

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

#: The newest revision in ``migrations/versions`` (a test checks it), so that opening a
#: database already at head reads one row and loads no Alembic code.
HEAD = "0006"
BASELINE = "0001"
MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class SchemaState:
    revision: str | None  # None: no alembic_version table (new, or made before migrations)
    head: str
    signals_tables: bool  # any of the baseline's tables is there

    @property
    def exists(self) -> bool:
        """A Signals database (stamped or not), as opposed to an empty one."""
        return self.revision is not None or self.signals_tables

    @property
    def at_head(self) -> bool:
        return self.revision == self.head


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def schema_state(conn: Connection, location: Path = MIGRATIONS) -> SchemaState:
    tables = set(inspect(conn).get_table_names())
    rev = current_revision(conn) if VERSION_TABLE in tables else None
    return SchemaState(rev, head_of(location), bool(tables & set(baseline.metadata.tables)))


def head_of(location: Path = MIGRATIONS) -> str:
    if location == MIGRATIONS:
        return HEAD
    head = _script(location).get_current_head()
    assert head is not None
    return head


def upgrade(
    conn: Connection, url: str, create: bool = True, location: Path = MIGRATIONS
) -> tuple[str | None, str]:
    """Bring the database to head in ``conn``'s transaction; (revision before, after).
    ``create=False`` refuses a database with no Signals tables (``NoDatabaseError``)."""
    from alembic import command
    from alembic.util import CommandError

    state = schema_state(conn, location)
    before = state.revision
    if not state.exists and not create:
        raise NoDatabaseError(url)
    cfg = _config(location, conn)
    try:
        if before is None and state.signals_tables:
            _complete_release_schema(conn, url)
            command.stamp(cfg, BASELINE)
            before = BASELINE
        elif before is not None:
            known = {s.revision for s in _script(location).walk_revisions()}
            if before not in known:
                raise StoreError(
                    f"database {url} is at revision {before}, unknown to this Signals "
                    f"(head {state.head}): was it upgraded by a newer release?"
                )
        if before != state.head:
            command.upgrade(cfg, "head")
    except StoreError:
        raise
    except CommandError as e:
        raise StoreError(f"cannot upgrade database {url}: {str(e).splitlines()[0]}") from None
    except Exception as e:  # a revision failed: the caller's transaction rolls every one back
        raise StoreError(
            f"cannot upgrade database {url} to {state.head}: {e.__class__.__name__}: "
            f"{(str(e).splitlines() or [''])[0]}; nothing changed"
        ) from e
    if conn.dialect.name == "sqlite":  # foreign keys are off during a migration (Store.upgrade)
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise StoreError(
                f"cannot upgrade database {url}: the migration broke {len(broken)} "
                f"foreign key(s), first {tuple(broken[0])}; nothing changed"
            )
    return state.revision, state.head


def _complete_release_schema(conn: Connection, url: str) -> None:
    """Check that a database without ``alembic_version`` is one 0.1.0 made (every baseline
    table and column, schema_version 1); create the tables 0.1.0 itself would have added."""
    insp = inspect(conn)
    tables = set(insp.get_table_names())
    missing = set(baseline.metadata.tables) - tables
    problems = (
        [f"missing tables {', '.join(sorted(missing - baseline.LATE_TABLES))}"]
        if missing - baseline.LATE_TABLES
        else []
    )
    for name, table in baseline.metadata.tables.items():
        if name in tables:
            cols = {c["name"] for c in insp.get_columns(name)}
            lacking = [c.name for c in table.columns if c.name not in cols]
            if lacking:
                problems.append(f"{name} lacks {', '.join(lacking)}")
    if not problems:
        meta = baseline.metadata.tables["meta"]
        version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        if version != "1":
            problems.append(f"meta.schema_version is {version!r}, not '1'")
    if problems:
        raise StoreError(
            f"database {url} has Signals tables but is not a Signals 0.1.0 database "
            f"({'; '.join(problems)}); left untouched"
        )
    if missing:
        baseline.metadata.create_all(
            conn, tables=[baseline.metadata.tables[n] for n in sorted(missing)]
        )


def _config(location: Path, conn: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["connection"] = conn
    return cfg


def _script(location: Path) -> ScriptDirectory:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    return ScriptDirectory.from_config(cfg)
