"""Whether an API key still authenticates, asked by many sockets at once.

A thousand subscribers starting together each ask before their operation runs (a key revoked a
moment ago must refuse it). One lookup each would queue a thousand checkouts behind the pool and
time some of them out; instead, the keys asked about while a lookup runs are looked up together
by the next one. Every caller is answered by a lookup that began after it asked, so none is told
that a key revoked before its question is live.
"""

from __future__ import annotations

import asyncio
from functools import partial

from ..storage.db import Database, retrying_disconnects
from .tenancy import live_key_ids


class KeyCheckFailed(Exception):
    """The lookup that was to answer this caller failed (its own error is the cause). Each caller
    gets its own: one exception object raised in many tasks would gather all their tracebacks."""


class KeyChecks:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.lookups = 0  # statements' worth of batches run (tests read it)
        self._asked: dict[int, list[asyncio.Future[bool]]] = {}  # waiting for the next lookup
        self._batch: dict[int, list[asyncio.Future[bool]]] = {}  # being looked up now
        self._running: asyncio.Task[None] | None = None

    async def is_live(self, key_id: int) -> bool:
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._asked.setdefault(key_id, []).append(answer)
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._look_up(), name="api key checks")
            self._running.add_done_callback(self._ended)
        return await answer

    async def _look_up(self) -> None:
        """Until nobody waits: the keys asked so far, in one lookup, then those asked meanwhile."""
        while self._asked:
            self._batch, self._asked = self._asked, {}
            self.lookups += 1
            try:
                # A dead pooled connection fails this lookup once, not every socket waiting on it.
                live = await retrying_disconnects(partial(live_key_ids, self.db, list(self._batch)))
            except Exception as error:  # each caller decides what a failed check means
                for answer in _waiting(self._batch):
                    failed = KeyCheckFailed("the API key lookup failed")
                    failed.__cause__ = error
                    answer.set_exception(failed)
                continue
            for key_id, answers in self._batch.items():
                for answer in answers:
                    if not answer.done():  # its caller may have been cancelled meanwhile
                        answer.set_result(key_id in live)
        self._batch = {}

    def _ended(self, task: asyncio.Task[None]) -> None:
        """Cancelled (a shutdown), even before it began: nobody waiting on it is left hanging."""
        if task.cancelled() and task is self._running:
            for answer in [*_waiting(self._batch), *_waiting(self._asked)]:
                answer.cancel()
            self._batch, self._asked = {}, {}


def _waiting(asked: dict[int, list[asyncio.Future[bool]]]) -> list[asyncio.Future[bool]]:
    return [answer for answers in asked.values() for answer in answers if not answer.done()]
