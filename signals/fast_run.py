"""The fast path of an idle ``signals run``: when nothing is due and nothing pending, answer
as the full run would (same lines, exit 0) without importing click, pydantic or SQLAlchemy.

``try_idle`` handles a plain ``signals [global options] run`` only, with the global options it
understands (``--db``, ``--sources``, ``--scenarios``, ``--reports``, ``--now``, ``--judge``,
``--cache-dir``, ``-q``; their environment variables as the CLI reads them). It answers only
when the idle token of that configuration (``signals.idle_token``) is still valid and the
SQLite database says nothing is to be done (``store.idle_check``); anything else (another
option, ``-v``, a PostgreSQL URL, no token, an edit, a due feed, a pending article, a held
lock, any error) returns False and the caller runs the CLI as before.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from . import cache_dir, idle_token
from .values import DEFAULT_DB, parse_now

#: The global options the fast path reads: option → (setting, environment variable, default),
#: as ``signals.cli.cli`` declares them (a test compares the two).
OPTIONS: dict[str, tuple[str, str, str | None]] = {
    "--db": ("db_url", "SIGNALS_DB", DEFAULT_DB),
    "--sources": ("sources", "SIGNALS_SOURCES", "sources.yaml"),
    "--scenarios": ("scenarios", "SIGNALS_SCENARIOS", "scenarios.yaml"),
    "--reports": ("reports", "SIGNALS_REPORTS", "reports"),
    "--now": ("now", "SIGNALS_NOW", None),
    "--judge": ("judge", "SIGNALS_JUDGE", None),
    "--cache-dir": ("cache_dir", "SIGNALS_CACHE_DIR", None),
}


class Invocation(NamedTuple):
    config: idle_token.Config
    now: datetime | None
    quiet: bool


def parse(argv: Sequence[str], environ: Mapping[str, str]) -> Invocation | None:
    """``signals [options] run`` with only the options above, or None. The last value of an
    option wins and an empty environment variable counts as unset, as with click."""
    given: dict[str, str] = {}
    quiet = False
    args = list(argv)
    while args and args[0] != "run":
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        if name in OPTIONS:
            if not eq:
                if not args:
                    return None
                value = args.pop(0)
            given[OPTIONS[name][0]] = value
        elif arg == "--quiet" or (len(arg) > 1 and arg == "-" + "q" * (len(arg) - 1)):
            quiet = True
        else:
            return None
    if args != ["run"]:
        return None
    values = {
        setting: given[setting] if setting in given else (environ.get(env) or default)
        for setting, env, default in OPTIONS.values()
    }
    try:
        now = None if values["now"] is None else parse_now(values["now"])
    except ValueError:  # the CLI says what is wrong with it
        return None
    judge, cache = values["judge"], values["cache_dir"]
    config = idle_token.Config.of(
        str(values["db_url"]),
        Path(str(values["sources"])),
        Path(str(values["scenarios"])),
        None if judge is None else Path(judge),
        cache_dir.resolve(None if cache is None else Path(cache)),
    )
    return Invocation(config, now, quiet)


def _idle_lines(inv: Invocation) -> list[str] | None:
    """The lines a full run would print, when it would find nothing to do; else None."""
    from .store import idle_check

    path = idle_check.sqlite_file(inv.config.db_url)
    if path is None or not os.path.isfile(path):
        return None
    token = idle_token.read(inv.config)
    if token is None or not idle_token.still_valid(token):
        return None
    now = inv.now or datetime.now(UTC)
    with idle_check.open_ro(path) as conn:
        if idle_check.facts(conn, list(token.db.meta)) != token.db:
            return None
        before = now - timedelta(days=token.keep_attempts_days)
        if idle_check.work(conn, token.lock, now, before) is not None:
            return None
    return token.lines


def try_idle(argv: Sequence[str]) -> bool:
    """Answer an idle ``run`` here (True: done, exit 0) or leave it to the CLI (False)."""
    if sys.warnoptions or sys.flags.dev_mode:  # the full run could print warnings
        return False
    try:
        inv = parse(argv, os.environ)
        lines = None if inv is None else _idle_lines(inv)
    except Exception:  # anything unexpected: the full run decides, and says
        return False
    if inv is None or lines is None:
        return False
    if not inv.quiet:
        for line in lines:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
    return True
