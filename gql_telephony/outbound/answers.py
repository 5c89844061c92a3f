"""Reading what providers answer: the shapes every client expects, and the lookup of one number
in an account's inventory for providers that have no single-number read.

An answer in a shape we do not read is a failure of ours to understand, not the provider's
verdict: it comes out as UNREACHABLE, and its message never quotes the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..domain.provider_checks import AccountStatus, InventoryNumber, ProviderFailure
from ..domain.providers import PROVIDERS, ProviderKey


def provider_name(provider: ProviderKey) -> str:
    return PROVIDERS[provider].name


def unreadable(provider: ProviderKey) -> ProviderFailure:
    return ProviderFailure(
        AccountStatus.UNREACHABLE, f"{provider_name(provider)} answered in a form this server does not read."
    )


def as_object(value: Any, provider: ProviderKey) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise unreadable(provider)
    return value


def as_list(value: Any, provider: ProviderKey) -> list[Any]:
    if not isinstance(value, list):
        raise unreadable(provider)
    return value


def flag(value: Any) -> bool | None:
    """A JSON boolean, or None when the provider gave something else (or nothing)."""
    return value if isinstance(value, bool) else None


def count(value: Any) -> int | None:
    """A non-negative JSON integer (booleans are not counts), or None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


async def scan_for(numbers: AsyncIterator[InventoryNumber], number: str) -> InventoryNumber | None:
    """The inventory's entry for `number`, read page by page until it turns up (later pages
    are never asked for)."""
    try:
        async for found in numbers:
            if found.number == number:
                return found
        return None
    finally:
        # An async generator left mid-way is otherwise finalised whenever the loop gets to it.
        close = getattr(numbers, "aclose", None)
        if close is not None:
            await close()
