"""``signals process --workers N``: N worker processes on this machine, each with its own
database connection, sharing the queue of ready articles through claimed batches (see
``signals.process``). Processes, not threads: the tokeniser and the matcher are pure Python
and hold the GIL.

Workers are forked (POSIX, a parent with no other thread) once the parent has loaded what the
first batch would (compiled ruleset, judge, spaCy's French tokenizer and NER model: seconds of
CPU, mostly the French tokenizer's regular expressions): each worker inherits them instead of
importing and loading everything again, so N workers pay one model load, not N, and start in
milliseconds. The parent closes its pooled connections before forking; each worker opens its
own. Elsewhere (or with threads running, as under ``serve``) they are started with ``spawn`` and
load their own. SIGTERM to the parent is passed on: each worker stops after its current batch.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue
from typing import TYPE_CHECKING

from .errors import StoreError
from .process import ProcessReport

if TYPE_CHECKING:
    from .pipeline import Context, ShouldStop
    from .settings import Settings

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2


def split_limit(limit: int | None, workers: int) -> list[int | None]:
    """Each worker's share of ``limit`` (None: no limit); never more workers than articles."""
    if limit is None:
        return [None] * workers
    n = min(workers, limit)
    return [limit // n + (1 if i < limit % n else 0) for i in range(n)]


def _forked_worker(
    ctx: Context,
    limit: int | None,
    lease: timedelta,
    out: Queue[tuple[str, ProcessReport | str]],
) -> None:
    """One forked worker: the parent's context (models loaded, no connection open), its own
    connections from here on."""
    _work_until_empty(lambda: ctx, limit, lease, out)


def _worker(
    settings: Settings,
    need_sources: bool,
    limit: int | None,
    lease: timedelta,
    out: Queue[tuple[str, ProcessReport | str]],
) -> None:
    """One spawned worker process: its own context and connection, until the queue is empty."""
    from .pipeline import Context

    _work_until_empty(
        lambda: Context.open(settings, need_sources=need_sources, create=False), limit, lease, out
    )


def _work_until_empty(
    open_ctx: Callable[[], Context],
    limit: int | None,
    lease: timedelta,
    out: Queue[tuple[str, ProcessReport | str]],
) -> None:
    """A worker's run, its report (or its error, as one line) put on ``out``; SIGTERM stops it
    after its current batch."""
    from .pipeline import process

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())
    try:
        ctx = open_ctx()
        try:
            out.put(("ok", process(ctx, limit, lease=lease, should_stop=stop.is_set)))
        finally:
            ctx.close()
    except Exception as e:  # reported by the parent as one line
        out.put(("error", f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"))


def can_fork() -> bool:
    """Whether workers may be forked: the platform has ``fork`` and this process runs no other
    thread (a fork copies only the calling thread; locks other threads hold would stay held)."""
    return "fork" in mp.get_all_start_methods() and threading.active_count() == 1


def _preload(ctx: Context) -> None:
    """Load in the parent what every worker's first batch would load, if anything is pending
    (with nothing pending the workers stop at once: nothing to load); then close the parent's
    connections so that no worker inherits one."""
    from .store import repo

    with ctx.store.begin() as conn:
        pending = repo.count_articles(conn, state="ready") > 0
    if pending:
        ctx.ruleset()
        ctx.judge()
        ctx.analyser().preload()
    ctx.store.dispose()


def run_workers(
    ctx: Context, workers: int, limit: int | None, lease: timedelta, should_stop: ShouldStop
) -> ProcessReport:
    """Run ``workers`` process workers to the end of the queue (or of ``limit``); their
    reports summed. A worker that fails raises ``StoreError`` once the others have finished."""
    fork = can_fork()
    if fork:
        _preload(ctx)
    start = mp.get_context("fork") if fork else mp.get_context("spawn")
    out: Queue[tuple[str, ProcessReport | str]] = start.Queue()
    need_sources = bool(ctx.sources.sources)
    procs: list[BaseProcess] = [
        start.Process(
            target=_forked_worker if fork else _worker,
            args=(ctx, share, lease, out)
            if fork
            else (ctx.settings, need_sources, share, lease, out),
            name=f"signals-worker-{i}",
            daemon=False,
        )
        for i, share in enumerate(split_limit(limit, workers))
    ]
    for p in procs:
        p.start()
    total, errors, results, stopping = ProcessReport(), [], 0, False
    while results < len(procs):
        if should_stop() and not stopping:
            stopping = True
            for p in procs:
                if p.is_alive() and p.pid is not None:
                    p.terminate()  # SIGTERM: the worker ends after its current batch
        try:
            status, value = out.get(timeout=POLL_SECONDS)
        except Exception:  # queue.Empty: check the workers are still there
            dead = [p for p in procs if not p.is_alive() and p.exitcode not in (0, None)]
            if len(dead) + results >= len(procs) and out.empty():
                errors += [f"{p.name} exited with code {p.exitcode}" for p in dead]
                break
            continue
        results += 1
        if isinstance(value, ProcessReport):
            total.add(value)
        else:
            errors.append(str(value))
    for p in procs:
        p.join()
    if errors:
        raise StoreError(f"{len(errors)} of {len(procs)} workers failed: {errors[0]}")
    return total
