"""A total deadline for one fetch, visible to the socket layer.

httpx timeouts apply to each network operation, so a server dripping one byte per second
never trips a 30 s read timeout. ``Fetcher`` opens a ``deadline_scope`` around each fetch;
the guarded network streams (``guard.py``) clamp the timeout of every connect, TLS handshake,
read and write to the time left, and raise a timeout as soon as none is left. The scope is a
``ContextVar``: each thread of ``fetch_many`` has its own.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Deadline", "clamp_timeout", "current_deadline", "deadline_scope"]


@dataclass(frozen=True)
class Deadline:
    at: float  # in the units of ``clock``
    clock: Callable[[], float]

    def remaining(self) -> float:
        return self.at - self.clock()

    def expired(self) -> bool:
        return self.remaining() <= 0


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "signals_fetch_deadline", default=None
)


def current_deadline() -> Deadline | None:
    return _current.get()


@contextmanager
def deadline_scope(deadline: Deadline) -> Iterator[Deadline]:
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def clamp_timeout(timeout: float | None) -> float | None:
    """``timeout`` shortened to the time left before the current deadline.

    Returns 0.0 when the deadline has passed (callers raise their own timeout error then);
    ``None`` (no limit) only when there is neither a timeout nor a deadline.
    """
    d = _current.get()
    if d is None:
        return timeout
    left = max(0.0, d.remaining())
    if timeout is None or math.isinf(timeout):
        return left
    return min(timeout, left)
