"""Alembic migrations of the Signals database: ``env.py`` (used by ``signals.store.migrate``
and by the ``alembic`` command line), ``baseline.py`` (the schema of release 0.1.0, frozen)
and ``versions/`` (one file per revision, oldest ``v0001_baseline``)."""
