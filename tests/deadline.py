"""A deadline that only catches a hang, including one in a CPU loop that never awaits (which
asyncio.wait_for cannot interrupt): far above any normal run, so a loaded machine never trips it."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HANG_SECONDS = 60


class Hung(BaseException):
    """Not an Exception: no `except Exception` between the alarm and the test may swallow it."""


@contextmanager
def deadline(seconds: float = HANG_SECONDS) -> Iterator[None]:
    def alarm(_signum: int, _frame: object) -> None:
        raise Hung(f"still running after {seconds} s: a hang, or work that grows without bound")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


async def until(condition: Callable[[], object], seconds: float = HANG_SECONDS) -> None:
    """Wait for a condition another task makes true; fail only when it never comes."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not true after {seconds} s"
        await asyncio.sleep(0.02)
