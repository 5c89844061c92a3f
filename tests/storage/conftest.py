"""Fixtures of the storage tests."""

from __future__ import annotations

from typing import Any

import aiosqlite
import pytest

from .watch import Trip


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[Trip]:
    """Every hand-over to aiosqlite's thread, in order."""
    handed: list[Trip] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        statement = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
        handed.append(Trip(fn.__name__, statement[:22]))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return handed
