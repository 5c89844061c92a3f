"""The retry schedule of failed webhook deliveries."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from gql_telephony.domain.webhook_retries import CAP_SECONDS, next_attempt, retry_delay, schedule

CREATED = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86400


def test_the_first_retry_comes_within_10_seconds_whatever_the_jitter():
    rng = random.Random(7)
    delays = [retry_delay(1, 5.0, rng=rng) for _ in range(10_000)]
    assert 4.0 <= min(delays) and max(delays) <= 6.0 < 10


def test_each_wait_is_three_times_the_last_up_to_three_hours():
    assert schedule(5.0, DAY)[:8] == [5, 15, 45, 135, 405, 1215, 3645, CAP_SECONDS]
    rng = random.Random(1)
    assert all(retry_delay(n, 5.0, rng=rng) <= CAP_SECONDS * 1.2 for n in range(1, 60))


def test_the_schedule_spans_a_day_then_gives_up():
    delays = schedule(5.0, DAY)
    assert sum(delays) == DAY and len(delays) == 15  # 16 attempts in all
    late = CREATED + timedelta(seconds=DAY - 60)
    # The last retry is made at the give-up time, not after it; past it, none.
    assert next_attempt(failed_attempts=15, created_at=CREATED, now=late, base=5.0, give_up_after=DAY) == \
        CREATED + timedelta(seconds=DAY)
    assert next_attempt(failed_attempts=16, created_at=CREATED, now=CREATED + timedelta(seconds=DAY),
                        base=5.0, give_up_after=DAY) is None


def test_a_retry_is_scheduled_from_the_failed_attempt():
    now = CREATED + timedelta(minutes=3)
    at = next_attempt(failed_attempts=1, created_at=CREATED, now=now, base=5.0, give_up_after=DAY)
    assert at is not None and timedelta(seconds=4) <= at - now <= timedelta(seconds=6)
