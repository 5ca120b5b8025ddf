"""``signals process --workers N``: N worker processes on this machine, each with its own
database connection, sharing the queue of ready articles through claimed batches (see
``signals.process``). Processes, not threads: the tokeniser and the matcher are pure Python
and hold the GIL.

Workers are started with ``spawn`` (no inherited connection or model state). SIGTERM to the
parent is passed on: each worker stops after its current batch.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import threading
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


def _worker(
    settings: Settings,
    need_sources: bool,
    limit: int | None,
    lease: timedelta,
    out: Queue[tuple[str, ProcessReport | str]],
) -> None:
    """One worker process: its own context and connection, until the queue is empty."""
    from .pipeline import Context, process

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _sig, _frame: stop.set())
    try:
        ctx = Context.open(settings, need_sources=need_sources, create=False)
        try:
            out.put(("ok", process(ctx, limit, lease=lease, should_stop=stop.is_set)))
        finally:
            ctx.close()
    except Exception as e:  # reported by the parent as one line
        out.put(("error", f"{e.__class__.__name__}: {str(e).splitlines()[0] if str(e) else ''}"))


def run_workers(
    ctx: Context, workers: int, limit: int | None, lease: timedelta, should_stop: ShouldStop
) -> ProcessReport:
    """Run ``workers`` process workers to the end of the queue (or of ``limit``); their
    reports summed. A worker that fails raises ``StoreError`` once the others have finished."""
    spawn = mp.get_context("spawn")
    out: Queue[tuple[str, ProcessReport | str]] = spawn.Queue()
    need_sources = bool(ctx.sources.sources)
    procs: list[BaseProcess] = [
        spawn.Process(
            target=_worker,
            args=(ctx.settings, need_sources, share, lease, out),
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
