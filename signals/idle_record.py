"""The full ``run``'s side of the fast path (``signals.fast_run``): after a run that succeeded,
write the idle token of its configuration (``signals.idle_token``).

The token is written only when what the run read is what the token says: the configuration
files and the code are the same before and after the run (an edit during the run is picked up
by the next full run), and the database holds the ruleset and judge this configuration applies
(another configuration's run on the same database means no token). A cache directory that
cannot be written only logs at debug level.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NamedTuple

from . import cache_dir, idle_token
from .store import idle_check

if TYPE_CHECKING:
    from .pipeline import Context, JobResult
    from .settings import Settings

log = logging.getLogger(__name__)


class Before(NamedTuple):
    """The configuration, code and files as they were when the run started."""

    config: idle_token.Config
    code: str
    files: dict[str, str]


def before_run(settings: Settings) -> Before | None:
    """What the run starts with; None when no token will be written (not a SQLite file, a
    configuration file that cannot be read: the run says why)."""
    config = idle_token.Config.of(
        settings.db_url,
        settings.sources_path,
        settings.scenarios_path,
        settings.judge_path,
        cache_dir.resolve(settings.cache_dir),
    )
    if idle_check.sqlite_file(config.db_url) is None:
        return None
    try:
        return Before(config, idle_token.code_fingerprint(), idle_token.file_digests(config))
    except OSError:
        return None


def record(before: Before | None, ctx: Context, result: JobResult) -> None:
    """Write the token after ``result`` (a ``run`` that ended without being stopped)."""
    if before is None or result.stopped:
        return
    try:
        token = _token(before, ctx)
        if token is None:
            return
        path = before.config.token_path()
        cache_dir.write_atomic(path, idle_token.dumps(token))
        cache_dir.prune(path.parent, idle_token.PATTERN, keep=path)
    except Exception as e:  # an unwritable cache, a database gone meanwhile...
        log.debug("idle token not written (%s: %s)", e.__class__.__name__, e)


def _token(before: Before, ctx: Context) -> idle_token.Token | None:
    from .pipeline import FETCH_LOCK, idle_lines
    from .rematch import META_RULESET, META_SCENARIOS, applied_scenarios_json, scoring_version

    config = before.config
    if (
        idle_token.code_fingerprint() != before.code
        or idle_token.file_digests(config) != before.files
    ):
        log.debug("idle token not written: the configuration or the code changed during the run")
        return None
    ruleset = ctx.ruleset()
    expected = {
        META_RULESET: idle_check.digest_value(scoring_version(ruleset, ctx.judge())),
        META_SCENARIOS: idle_check.digest_value(applied_scenarios_json(ruleset)),
    }
    path = idle_check.sqlite_file(config.db_url)
    assert path is not None
    with idle_check.open_ro(path, tidy=True) as conn:
        db = idle_check.facts(conn, list(expected))
    if db.meta != expected:
        log.debug("idle token not written: the database holds another ruleset or judge")
        return None
    return idle_token.Token(
        config,
        before.code,
        before.files,
        db,
        ctx.sources.fetch.keep_attempts_days,
        FETCH_LOCK,
        idle_lines(),
    )
