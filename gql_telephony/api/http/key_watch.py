"""Open WebSockets by API key: a revoked (or deleted) key's sockets are closed with 4403.

Revocation may happen in another process (the `revoke-api-key` command) with no broker shared
with this one, so every process asks the database itself: every `interval` seconds, one lookup
by primary key of the keys that have sockets open here. Nothing is asked while no socket is
open, and the map holds only open sockets.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from ...services.key_checks import KeyChecks
from ...services.tenancy import live_key_ids
from ...storage.db import Database

logger = logging.getLogger("gql_telephony.key_watch")

CHECK_EVERY_SECONDS = 2.0


class Revocable(Protocol):
    async def close_revoked(self) -> None: ...


class KeyWatch:
    def __init__(self, db: Database, *, interval: float = CHECK_EVERY_SECONDS) -> None:
        self.db, self.interval = db, interval
        self._sockets: dict[int, set[Revocable]] = {}
        self.checks = KeyChecks(db)  # before each operation of a socket (websocket.py)

    def __len__(self) -> int:
        return sum(len(sockets) for sockets in self._sockets.values())

    def watch(self, key_id: int, socket: Revocable) -> None:
        self._sockets.setdefault(key_id, set()).add(socket)

    def forget(self, key_id: int, socket: Revocable) -> None:
        sockets = self._sockets.get(key_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self._sockets[key_id]

    async def check(self) -> None:
        """Closes the sockets of every watched key that no longer authenticates."""
        if not self._sockets:
            return
        watched = list(self._sockets)
        try:
            live = await live_key_ids(self.db, watched)
        except Exception as error:  # the database is away: try again next time
            logger.warning("could not check %d API keys for revocation: %s", len(watched), type(error).__name__)
            return
        revoked = [socket for key_id in watched if key_id not in live for socket in self._sockets.pop(key_id, ())]
        if revoked:
            logger.info("closing %d WebSockets of revoked API keys", len(revoked))
            await asyncio.gather(*(socket.close_revoked() for socket in revoked), return_exceptions=True)

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            await self.check()
