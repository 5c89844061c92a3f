"""The loop both background workers run: keep up to N pieces of work going, fill a slot the
moment one frees, and otherwise wait for a wake-up from this process or the next poll."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from . import BACKGROUND

log = logging.getLogger(__name__)
Claim = TypeVar("Claim")


async def keep_busy(
    *, slots: int, claim: Callable[[int], Awaitable[list[Claim]]], work: Callable[[Claim], Coroutine[Any, Any, object]],
    wake: asyncio.Event, poll: float, name: str,
) -> None:
    """Runs until cancelled. One slow piece of work holds its own slot, never a whole batch;
    work cut short by a shut-down is cancelled (its lease in the database runs out, or the work
    gives it back itself)."""
    running: set[asyncio.Task[object]] = set()
    try:
        while True:
            wake.clear()  # before claiming: a commit after the claim wakes the wait below
            free = slots - len(running)
            if free:
                try:
                    claimed = await claim(free)
                except Exception:  # a database hiccup must not end the loop: try again next poll
                    log.exception("%s: claiming work failed", name)
                    claimed = []
                running.update(asyncio.create_task(work(item), name=f"{BACKGROUND}{name}") for item in claimed)
                if claimed and len(claimed) == free:
                    continue  # maybe more is due: claim again as soon as a slot frees
            woken = asyncio.create_task(wake.wait(), name=f"{BACKGROUND}{name} wake")
            try:
                # Jitter, so that processes started together do not poll in step.
                done, _ = await asyncio.wait(
                    {*running, woken}, timeout=poll * random.uniform(0.8, 1.2), return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                woken.cancel()
                # Awaited, so that a shut-down never leaves it pending for the closing loop.
                await asyncio.gather(woken, return_exceptions=True)
            running -= done
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
