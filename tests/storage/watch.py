"""What the storage tests watch: the hand-overs to aiosqlite's thread (the `trips` fixture of
conftest.py), and the event loop held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Trip:
    """A function handed to aiosqlite's thread, and the start of its statement if it runs one."""

    function: str
    statement: str = ""

    def __str__(self) -> str:
        return f"{self.function} {self.statement}".strip()


@asynccontextmanager
async def loop_gaps() -> AsyncIterator[list[float]]:
    """The gaps between the ticks of a 10 ms ticker on the loop while the block runs: a long
    one is the loop held by something that should have waited elsewhere."""
    gaps: list[float] = []

    async def tick() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            gaps.append(time.monotonic() - last)
            last = time.monotonic()

    ticker = asyncio.create_task(tick())
    try:
        yield gaps
    finally:
        ticker.cancel()
