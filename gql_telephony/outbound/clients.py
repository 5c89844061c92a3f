"""Each provider's client, by provider: the services ask through this mapping only."""

from __future__ import annotations

from ..domain.providers import ProviderKey
from .base import ProviderClient

CLIENTS: dict[ProviderKey, ProviderClient] = {}
