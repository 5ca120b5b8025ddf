"""Alembic's environment for the Signals database.

``signals.store.migrate`` runs it with the caller's connection in
``config.attributes["connection"]``: that connection already holds the migration lock and its
transaction, so every pending revision commits (or rolls back) at once. The ``alembic`` command
line (``alembic.ini`` at the repository root, for writing revisions) runs it on ``-x db=URL`` or
``SIGNALS_DB``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from signals.settings import DEFAULT_DB
from signals.store.schema import metadata


def run(conn: Connection) -> None:
    sqlite = conn.dialect.name == "sqlite"
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=sqlite)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit(
        "offline (--sql) migrations are not supported: the baseline needs a connection"
    )
given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    url = context.get_x_argument(as_dictionary=True).get("db") or os.environ.get(
        "SIGNALS_DB", DEFAULT_DB
    )
    from signals.store import open_store

    store = open_store(url, upgrade=False)  # the same connection setup as Signals itself
    with store.engine.connect() as conn, conn.begin():
        run(conn)
    store.dispose()
