"""Progress of long loops (process, import, fetch, rematch, backtest): a bar on a terminal,
nothing under cron.

Core functions take a :class:`Progress` (default :data:`NO_PROGRESS`, which does nothing) and
report through it; they never import rich. The CLI picks the implementation with
:func:`for_terminal`: a rich bar with rate and ETA on standard error when both standard
output and standard error are terminals, else nothing (cron, pipes, tests: only the summary
line is printed)::

    with progress.task("process", total=n) as task:
        for batch in batches:
            ...
            task.advance(len(batch))
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Task:
    """One bar. The base class ignores everything."""

    def advance(self, n: int = 1) -> None:
        """``n`` more units done."""

    def set_total(self, total: int | None) -> None:
        """The total became known (or changed)."""


class Progress:
    """Where loops report progress. This base class shows nothing (cron, tests, libraries)."""

    #: False when nothing is shown: a caller may then skip work done only for the bar (counts).
    enabled = False

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Task]:  # noqa: ARG002
        """A bar for one loop; ``total`` None when unknown (rate, no ETA). The base shows
        nothing, so ignores both; subclasses implement this signature."""
        yield _NULL_TASK


_NULL_TASK = Task()
NO_PROGRESS = Progress()


class _RichTask(Task):
    def __init__(self, bars: Any, task_id: Any):
        self._bars, self._id = bars, task_id

    def advance(self, n: int = 1) -> None:
        self._bars.advance(self._id, n)

    def set_total(self, total: int | None) -> None:
        self._bars.update(self._id, total=total)


class RichProgress(Progress):
    """Bars drawn with rich on ``console`` (description, bar, done/total, rate, elapsed, ETA).
    Each loop's bar stays on screen when done, above the command's summary line."""

    enabled = True

    def __init__(self, console: Any):
        self.console = console

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Task]:
        if total == 0:  # nothing to do: no empty bar
            yield _NULL_TASK
            return
        from rich import progress as rp

        bars = rp.Progress(
            rp.TextColumn("[bold]{task.description}"),
            rp.BarColumn(),
            rp.MofNCompleteColumn(),
            _rate_column(),
            rp.TimeElapsedColumn(),
            rp.TextColumn("ETA"),
            rp.TimeRemainingColumn(),
            console=self.console,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        with bars:
            task_id = bars.add_task(description, total=total)
            yield _RichTask(bars, task_id)
            if total is None:  # show the count reached as complete
                task = bars.tasks[0]
                bars.update(task_id, total=task.completed)


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Units per second (rich only ships a bytes-per-second column)."""

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text("-/s" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")

    return RateColumn()


def is_terminal() -> bool:
    """Both standard output and standard error are terminals (not cron, not a pipe)."""
    return _isatty(sys.stdout) and _isatty(sys.stderr)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def for_terminal(quiet: bool = False, console: Any = None) -> Progress:
    """Bars on a terminal, else :data:`NO_PROGRESS`. ``console`` (a rich Console) overrides the
    terminal check: ``Console(file=StringIO(), force_terminal=True)`` in tests."""
    if quiet:
        return NO_PROGRESS
    if console is None:
        if not is_terminal():
            return NO_PROGRESS  # cron: rich is not even imported
        from rich.console import Console

        console = Console(stderr=True)
    if not console.is_terminal or console.is_dumb_terminal:
        return NO_PROGRESS
    return RichProgress(console)
