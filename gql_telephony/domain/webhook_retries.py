"""When a failed webhook delivery is tried again: exponential backoff with jitter over about a day.

Plain functions, no I/O. The first retry comes `base` seconds after the failed attempt (5 s by
default, jitter of +-20 % keeps it under 10 s), each later one waits three times longer, up to
three hours; the last attempt is made when the delivery is `give_up_after` seconds old, and if it
fails too the delivery is given up.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

GROWTH = 3.0
CAP_SECONDS = 3 * 3600.0
JITTER = 0.2


def retry_delay(failed_attempts: int, base: float, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `failed_attempts`-th failed attempt (1 for the first)."""
    raw = min(base * GROWTH ** max(failed_attempts - 1, 0), CAP_SECONDS)
    return raw * (rng or random).uniform(1 - JITTER, 1 + JITTER)


def next_attempt(
    *, failed_attempts: int, created_at: datetime, now: datetime, base: float, give_up_after: float,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after a failed attempt; None: give up (the delivery is old enough)."""
    give_up_at = created_at + timedelta(seconds=give_up_after)
    if now >= give_up_at:
        return None
    return min(now + timedelta(seconds=retry_delay(failed_attempts, base, rng=rng)), give_up_at)


def schedule(base: float, give_up_after: float) -> list[float]:
    """The retry delays without jitter, until the give-up time (for docs and tests): the n-th
    item is the wait after the n-th failed attempt."""
    delays, elapsed, failed = [], 0.0, 1
    while elapsed < give_up_after:
        delay = min(min(base * GROWTH ** (failed - 1), CAP_SECONDS), give_up_after - elapsed)
        delays.append(delay)
        elapsed += delay
        failed += 1
    return delays
