"""`signals.fetch.deadline`: the time left clamps every timeout, per context."""

from __future__ import annotations

import math
import threading

from signals.fetch.deadline import Deadline, clamp_timeout, current_deadline, deadline_scope


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_remaining_and_expired() -> None:
    clock = FakeClock()
    d = Deadline(at=130.0, clock=clock)
    assert (d.remaining(), d.expired()) == (30.0, False)
    clock.t = 130.0
    assert (d.remaining(), d.expired()) == (0.0, True)
    clock.t = 131.5
    assert (d.remaining(), d.expired()) == (-1.5, True)


def test_without_a_deadline_the_timeout_is_untouched() -> None:
    assert current_deadline() is None
    assert clamp_timeout(5.0) == 5.0
    assert clamp_timeout(None) is None


def test_inside_a_scope_the_timeout_is_the_shorter_of_the_two() -> None:
    clock = FakeClock()
    d = Deadline(at=110.0, clock=clock)
    with deadline_scope(d) as got:
        assert got is d and current_deadline() is d
        assert clamp_timeout(30.0) == 10.0
        assert clamp_timeout(3.0) == 3.0
        assert clamp_timeout(None) == 10.0 and clamp_timeout(math.inf) == 10.0
        clock.t = 200.0
        assert clamp_timeout(30.0) == 0.0 and clamp_timeout(None) == 0.0  # passed: nothing left
    assert current_deadline() is None and clamp_timeout(30.0) == 30.0


def test_scopes_nest_and_each_thread_has_its_own() -> None:
    clock = FakeClock()
    outer, inner = Deadline(120.0, clock), Deadline(105.0, clock)
    other: list[object] = []
    with deadline_scope(outer):
        with deadline_scope(inner):
            assert clamp_timeout(60.0) == 5.0
            th = threading.Thread(target=lambda: other.append(current_deadline()))
            th.start()
            th.join()
        assert current_deadline() is outer and clamp_timeout(60.0) == 20.0
    assert other == [None]
